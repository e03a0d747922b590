-- Non-transactional: each statement must be safe to run again.
DROP INDEX CONCURRENTLY IF EXISTS idx_usage_metrics_user_date;

DROP INDEX CONCURRENTLY IF EXISTS idx_user_subscriptions_user_id;
