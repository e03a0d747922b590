"""Lint: dbkit's structural rules, sqlfluff and squawk."""
