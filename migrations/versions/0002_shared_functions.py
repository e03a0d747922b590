"""Shared functions: update_updated_at_column() (001) and app_current_user_id()."""

from dbkit.revision import sql_pair

revision = "0002"
down_revision = "0001"
phase = "foundation"
upgrade, downgrade = sql_pair(__file__)
