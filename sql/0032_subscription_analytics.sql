-- Finalization: 002's materialized views for subscription analytics, each with the
-- unique index REFRESH MATERIALIZED VIEW CONCURRENTLY requires, and the function that
-- refreshes them. Created WITH DATA so a concurrent refresh works from the start.

CREATE MATERIALIZED VIEW mv_subscription_plan_stats AS
SELECT
    sp.id AS plan_id,
    sp.name AS plan_name,
    sp.billing_period,
    sp.currency,
    sp.price,
    count(us.id) AS total_subscriptions,
    count(us.id) FILTER (WHERE us.status = 'active') AS active_subscriptions,
    count(us.id) FILTER (
        WHERE us.status IN ('canceled', 'cancelled') OR us.cancelled_at IS NOT NULL
    ) AS cancelled_subscriptions,
    (
        sp.price * count(us.id) FILTER (WHERE us.status = 'active')
    )::numeric(14, 2) AS active_recurring_revenue
FROM subscription_plans AS sp
LEFT JOIN user_subscriptions AS us ON sp.id = us.plan_id
GROUP BY sp.id, sp.name, sp.billing_period, sp.currency, sp.price
WITH DATA;

-- The materialized view was created just above and nobody uses it yet (squawk does
-- not track materialized views created in the same file):
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX uq_mv_subscription_plan_stats_plan_id
ON mv_subscription_plan_stats (plan_id);

CREATE MATERIALIZED VIEW mv_monthly_billing_summary AS
SELECT
    bt.transaction_type,
    bt.status,
    date_trunc('month', bt.created_at AT TIME ZONE 'UTC')::date AS billing_month,
    coalesce(bt.currency, 'USD') AS currency,
    count(*) AS transaction_count,
    count(DISTINCT bt.user_id) AS paying_users,
    sum(bt.amount)::numeric(14, 2) AS total_amount
FROM billing_transactions AS bt
GROUP BY
    bt.transaction_type,
    bt.status,
    date_trunc('month', bt.created_at AT TIME ZONE 'UTC')::date,
    coalesce(bt.currency, 'USD')
WITH DATA;

-- The materialized view was created just above and nobody uses it yet (squawk does
-- not track materialized views created in the same file):
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX uq_mv_monthly_billing_summary_key
ON mv_monthly_billing_summary (billing_month, currency, transaction_type, status);

CREATE MATERIALIZED VIEW mv_daily_usage_summary AS
SELECT
    um.metric_type,
    coalesce(um.date, (um.created_at AT TIME ZONE 'UTC')::date) AS usage_date,
    count(DISTINCT um.user_id) AS active_users,
    sum(coalesce(um.count, 0)) AS total_count
FROM usage_metrics AS um
GROUP BY
    um.metric_type,
    coalesce(um.date, (um.created_at AT TIME ZONE 'UTC')::date)
WITH DATA;

-- The materialized view was created just above and nobody uses it yet (squawk does
-- not track materialized views created in the same file):
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX uq_mv_daily_usage_summary_key
ON mv_daily_usage_summary (usage_date, metric_type);

-- Aggregates over every user: readable by the billing administrator only.
GRANT SELECT
ON mv_subscription_plan_stats, mv_monthly_billing_summary, mv_daily_usage_summary
TO dbkit_billing_admin;

CREATE OR REPLACE FUNCTION refresh_subscription_analytics(
    p_concurrently boolean DEFAULT TRUE
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_concurrently THEN
        REFRESH MATERIALIZED VIEW CONCURRENTLY mv_subscription_plan_stats;
        REFRESH MATERIALIZED VIEW CONCURRENTLY mv_monthly_billing_summary;
        REFRESH MATERIALIZED VIEW CONCURRENTLY mv_daily_usage_summary;
    ELSE
        REFRESH MATERIALIZED VIEW mv_subscription_plan_stats;
        REFRESH MATERIALIZED VIEW mv_monthly_billing_summary;
        REFRESH MATERIALIZED VIEW mv_daily_usage_summary;
    END IF;
END;
$$;

COMMENT ON FUNCTION refresh_subscription_analytics(boolean) IS
'Refreshes the subscription analytics materialized views (CONCURRENTLY by default: readers are never blocked).';
