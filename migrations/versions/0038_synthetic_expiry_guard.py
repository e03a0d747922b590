"""Synthetic trajectory rows must expire: CHECK constraints, added NOT VALID (001)."""

from dbkit.revision import sql_pair

revision = "0038"
down_revision = "0037"
phase = "data_guards"
upgrade, downgrade = sql_pair(__file__)
