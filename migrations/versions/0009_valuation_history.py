"""ValuAI phase 2: valuation_history audit trail, written by trigger (000)."""

from dbkit.revision import sql_pair

revision = "0009"
down_revision = "0008"
phase = "business_intelligence"
upgrade, downgrade = sql_pair(__file__)
