"""LeadAI Pro leads with partial, descending and full-text indexes (004)."""

from dbkit.revision import sql_pair

revision = "0027"
down_revision = "0026"
phase = "crm"
upgrade, downgrade = sql_pair(__file__)
