"""Auxeira portfolio, ESG, economic-impact and partnership metrics (001)."""

from dbkit.revision import sql_pair

revision = "0013"
down_revision = "0012"
phase = "investor"
upgrade, downgrade = sql_pair(__file__)
