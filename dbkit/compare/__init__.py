"""Comparison: catalog snapshots, scratch databases, verify, drift."""
