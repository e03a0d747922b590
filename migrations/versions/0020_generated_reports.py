"""GoodBuy phase 4: generated professional reports (002)."""

from dbkit.revision import sql_pair

revision = "0020"
down_revision = "0019"
phase = "professional_reporting"
upgrade, downgrade = sql_pair(__file__)
