-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS data_integrations;
DROP TABLE IF EXISTS ai_model_performance;
