-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table, ban-drop-view
DROP TABLE IF EXISTS health_metrics;
DROP VIEW IF EXISTS businesses;
