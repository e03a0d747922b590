"""Commerce page views, conversions and user sessions (003)."""

from dbkit.revision import sql_pair

revision = "0025"
down_revision = "0024"
phase = "commerce"
upgrade, downgrade = sql_pair(__file__)
