"""GoodBuy HQ's businesses compatibility view and health_metrics (002)."""

from dbkit.revision import sql_pair

revision = "0007"
down_revision = "0006"
phase = "core_models"
upgrade, downgrade = sql_pair(__file__)
