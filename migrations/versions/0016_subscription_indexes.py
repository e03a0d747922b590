"""GoodBuy phase 1 indexes, built CONCURRENTLY outside a transaction (002)."""

from dbkit.revision import sql_pair

revision = "0016"
down_revision = "0015"
phase = "schema_preparation"
transactional = False
upgrade, downgrade = sql_pair(__file__)
