"""GoodBuy phase 3: AI analysis sessions and portfolios (002)."""

from dbkit.revision import sql_pair

revision = "0018"
down_revision = "0017"
phase = "ai_enhancement"
upgrade, downgrade = sql_pair(__file__)
