-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS market_benchmarks;
DROP TABLE IF EXISTS valuation_analytics;
