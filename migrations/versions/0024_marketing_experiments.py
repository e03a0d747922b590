"""Commerce marketing content, campaigns, A/B tests, market intelligence (003)."""

from dbkit.revision import sql_pair

revision = "0024"
down_revision = "0023"
phase = "commerce"
upgrade, downgrade = sql_pair(__file__)
