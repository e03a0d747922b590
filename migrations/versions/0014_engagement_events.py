"""Auxeira token transactions, analytics events, subscription events (001)."""

from dbkit.revision import sql_pair

revision = "0014"
down_revision = "0013"
phase = "investor"
upgrade, downgrade = sql_pair(__file__)
