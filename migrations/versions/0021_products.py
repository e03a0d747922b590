"""Commerce products, product metrics and user behaviour (003)."""

from dbkit.revision import sql_pair

revision = "0021"
down_revision = "0020"
phase = "commerce"
upgrade, downgrade = sql_pair(__file__)
