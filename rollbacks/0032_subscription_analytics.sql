-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-view, ban-drop-function
DROP FUNCTION IF EXISTS refresh_subscription_analytics(boolean);
DROP MATERIALIZED VIEW IF EXISTS mv_daily_usage_summary;
DROP MATERIALIZED VIEW IF EXISTS mv_monthly_billing_summary;
DROP MATERIALIZED VIEW IF EXISTS mv_subscription_plan_stats;
