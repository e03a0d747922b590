-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS subscription_events;
DROP TABLE IF EXISTS analytics_events;
DROP TABLE IF EXISTS token_transactions;
