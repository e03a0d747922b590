"""valuations_archive and archive_valuations(cutoff) (000)."""

from dbkit.revision import sql_pair

revision = "0034"
down_revision = "0033"
phase = "finalization"
upgrade, downgrade = sql_pair(__file__)
