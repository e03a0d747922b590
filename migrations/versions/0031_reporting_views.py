"""The company_performance view (000)."""

from dbkit.revision import sql_pair

revision = "0031"
down_revision = "0030"
phase = "finalization"
upgrade, downgrade = sql_pair(__file__)
