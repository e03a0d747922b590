-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS corporate_partnerships;
DROP TABLE IF EXISTS economic_impact;
DROP TABLE IF EXISTS esg_metrics;
DROP TABLE IF EXISTS portfolio_metrics;
