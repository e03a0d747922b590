-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
-- 002's phase 3 rollback, without CASCADE.
DROP TABLE IF EXISTS portfolio_businesses;
DROP TABLE IF EXISTS portfolios;
DROP TABLE IF EXISTS ai_analysis_sessions;
