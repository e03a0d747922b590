"""GoodBuy phase 2: existing users get the Free plan; rollback removes only those (002)."""

from dbkit.revision import sql_pair

revision = "0017"
down_revision = "0016"
phase = "user_migration"
upgrade, downgrade = sql_pair(__file__)
