"""LeadAI Pro activities and conversations, GIN on sentiment (004)."""

from dbkit.revision import sql_pair

revision = "0029"
down_revision = "0028"
phase = "crm"
upgrade, downgrade = sql_pair(__file__)
