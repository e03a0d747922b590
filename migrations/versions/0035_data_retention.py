"""GDPR/CCPA retention policies and apply_data_retention() (004)."""

from dbkit.revision import sql_pair

revision = "0035"
down_revision = "0034"
phase = "finalization"
upgrade, downgrade = sql_pair(__file__)
