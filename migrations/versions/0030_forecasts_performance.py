"""LeadAI Pro forecasts and performance metrics (004)."""

from dbkit.revision import sql_pair

revision = "0030"
down_revision = "0029"
phase = "crm"
upgrade, downgrade = sql_pair(__file__)
