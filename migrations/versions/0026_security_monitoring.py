"""Commerce API keys, login attempts, API logs, security alerts (003)."""

from dbkit.revision import sql_pair

revision = "0026"
down_revision = "0025"
phase = "commerce"
upgrade, downgrade = sql_pair(__file__)
