"""GoodBuy phase 1: plans, subscriptions, usage, billing; Free plan (002, 003)."""

from dbkit.revision import sql_pair

revision = "0015"
down_revision = "0014"
phase = "schema_preparation"
upgrade, downgrade = sql_pair(__file__)
