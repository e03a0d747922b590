-- Phase finalization (seed 002 phase 5 and the schema-wide finishing work), pre-checks.
-- The phase adds views, materialized views, functions, triggers and two tables; it must
-- not change existing rows (creating the archive must not archive anything either).
-- preserve: users, companies, health_metrics, valuations

-- check: user_subscriptions_plan_id_references_subscription_plans
-- The subscription analytics aggregate subscriptions per plan.
SELECT
    t.id,
    t.plan_id
FROM user_subscriptions AS t
WHERE
    t.plan_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM subscription_plans AS p
        WHERE p.id = t.plan_id
    );

-- check: billing_transactions_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM billing_transactions AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: usage_metrics_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM usage_metrics AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );
