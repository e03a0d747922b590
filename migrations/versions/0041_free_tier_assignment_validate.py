"""Validate 0040's composite foreign key, apart from adding it (002)."""

from dbkit.revision import sql_pair

revision = "0041"
down_revision = "0040"
phase = "data_guards"
upgrade, downgrade = sql_pair(__file__)
