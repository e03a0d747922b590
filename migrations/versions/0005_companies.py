"""The merged companies table (000 and 001 companies, 002 businesses)."""

from dbkit.revision import sql_pair

revision = "0005"
down_revision = "0004"
phase = "core_models"
upgrade, downgrade = sql_pair(__file__)
