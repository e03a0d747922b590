"""Commerce payments and orders (003)."""

from dbkit.revision import sql_pair

revision = "0023"
down_revision = "0022"
phase = "commerce"
upgrade, downgrade = sql_pair(__file__)
