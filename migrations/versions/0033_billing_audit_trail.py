"""Audit trail of billing operations, written by trigger (002)."""

from dbkit.revision import sql_pair

revision = "0033"
down_revision = "0032"
phase = "finalization"
upgrade, downgrade = sql_pair(__file__)
