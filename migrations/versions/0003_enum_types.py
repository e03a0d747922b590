"""The nine enum types of LeadAI Pro (004), created before any table uses them."""

from dbkit.revision import sql_pair

revision = "0003"
down_revision = "0002"
phase = "foundation"
upgrade, downgrade = sql_pair(__file__)
