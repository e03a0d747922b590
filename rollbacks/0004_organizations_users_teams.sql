-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table, ban-drop-constraint
ALTER TABLE IF EXISTS users DROP CONSTRAINT IF EXISTS fk_users_team_id;
DROP TABLE IF EXISTS teams;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS organizations;
