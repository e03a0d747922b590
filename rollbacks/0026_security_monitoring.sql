-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS security_alerts;
DROP TABLE IF EXISTS api_logs;
DROP TABLE IF EXISTS login_attempts;
DROP TABLE IF EXISTS api_keys;
