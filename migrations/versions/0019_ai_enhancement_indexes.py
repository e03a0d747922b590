"""GoodBuy phase 3 indexes, built CONCURRENTLY outside a transaction (002)."""

from dbkit.revision import sql_pair

revision = "0019"
down_revision = "0018"
phase = "ai_enhancement"
transactional = False
upgrade, downgrade = sql_pair(__file__)
