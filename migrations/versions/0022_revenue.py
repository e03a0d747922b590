"""Commerce daily revenue, predictions, breakdown and country metrics (003)."""

from dbkit.revision import sql_pair

revision = "0022"
down_revision = "0021"
phase = "commerce"
upgrade, downgrade = sql_pair(__file__)
