"""ValuAI core models named by 000: valuations, file_uploads, reports."""

from dbkit.revision import sql_pair

revision = "0006"
down_revision = "0005"
phase = "core_models"
upgrade, downgrade = sql_pair(__file__)
