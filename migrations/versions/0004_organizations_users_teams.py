"""Organizations, the merged users table (000/001/002/003/004) and teams."""

from dbkit.revision import sql_pair

revision = "0004"
down_revision = "0003"
phase = "identity"
upgrade, downgrade = sql_pair(__file__)
