DROP FUNCTION IF EXISTS refresh_subscription_analytics(BOOLEAN);
DROP MATERIALIZED VIEW IF EXISTS mv_daily_usage_summary;
DROP MATERIALIZED VIEW IF EXISTS mv_monthly_billing_summary;
DROP MATERIALIZED VIEW IF EXISTS mv_subscription_plan_stats;
