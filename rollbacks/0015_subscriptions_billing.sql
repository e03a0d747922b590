-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table, ban-drop-view
-- 002's phase 1 rollback, in dependency order (the seed used CASCADE; here every
-- dependent object is dropped explicitly so nothing else can disappear silently).
DROP TABLE IF EXISTS billing_transactions;
DROP TABLE IF EXISTS usage_metrics;
DROP VIEW IF EXISTS subscriptions;
DROP TABLE IF EXISTS user_subscriptions;
DROP TABLE IF EXISTS subscription_plans;
