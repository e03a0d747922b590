-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS country_metrics;
DROP TABLE IF EXISTS revenue_breakdown;
DROP TABLE IF EXISTS revenue_predictions;
DROP TABLE IF EXISTS revenue_daily;
