"""ValuAI phase 3: AI model performance and data integrations (000)."""

from dbkit.revision import sql_pair

revision = "0011"
down_revision = "0010"
phase = "advanced_features"
upgrade, downgrade = sql_pair(__file__)
