-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table, ban-drop-function
DROP FUNCTION IF EXISTS apply_data_retention(timestamptz);
DROP TABLE IF EXISTS data_retention_policies;
