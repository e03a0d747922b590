-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-view
DROP VIEW IF EXISTS company_performance;
