"""cleanup_expired_synthetic_data() over every synthetic table (001)."""

from dbkit.revision import sql_pair

revision = "0036"
down_revision = "0035"
phase = "finalization"
upgrade, downgrade = sql_pair(__file__)
