"""LeadAI Pro lead scores, AI insights and journey events (004)."""

from dbkit.revision import sql_pair

revision = "0028"
down_revision = "0027"
phase = "crm"
upgrade, downgrade = sql_pair(__file__)
