"""Free-tier assignments: one per user, naming its subscription's own user, as keys (002)."""

from dbkit.revision import sql_pair

revision = "0040"
down_revision = "0039"
phase = "data_guards"
transactional = False
upgrade, downgrade = sql_pair(__file__)
