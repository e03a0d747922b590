"""pg_notify triggers on lead changes (004)."""

from dbkit.revision import sql_pair

revision = "0037"
down_revision = "0036"
phase = "finalization"
upgrade, downgrade = sql_pair(__file__)
