"""ValuAI phase 1: valuation analytics and market benchmarks (000)."""

from dbkit.revision import sql_pair

revision = "0008"
down_revision = "0007"
phase = "core_analytics"
upgrade, downgrade = sql_pair(__file__)
