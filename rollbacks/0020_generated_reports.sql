-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS generated_reports;
