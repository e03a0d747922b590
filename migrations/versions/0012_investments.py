"""Auxeira investments with performance tracking (001)."""

from dbkit.revision import sql_pair

revision = "0012"
down_revision = "0011"
phase = "investor"
upgrade, downgrade = sql_pair(__file__)
