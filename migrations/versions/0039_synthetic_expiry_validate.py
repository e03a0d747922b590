"""Validate 0038's synthetic-expiry constraints, apart from adding them (001)."""

from dbkit.revision import sql_pair

revision = "0039"
down_revision = "0038"
phase = "data_guards"
upgrade, downgrade = sql_pair(__file__)
