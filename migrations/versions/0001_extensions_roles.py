"""Extensions (pg_trgm) and the server-wide roles dbkit_app and dbkit_billing_admin."""

from dbkit.revision import sql_pair

revision = "0001"
down_revision = None
phase = "foundation"
upgrade, downgrade = sql_pair(__file__)
