"""Subscription analytics materialized views and their refresh function (002)."""

from dbkit.revision import sql_pair

revision = "0032"
down_revision = "0031"
phase = "finalization"
upgrade, downgrade = sql_pair(__file__)
