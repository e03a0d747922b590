"""ValuAI phase 2: UCaaS cohort analysis (000)."""

from dbkit.revision import sql_pair

revision = "0010"
down_revision = "0009"
phase = "business_intelligence"
upgrade, downgrade = sql_pair(__file__)
