-- Phase schema_preparation, post-checks: plans, subscriptions, usage and billing, their
-- row-level security and 002's CONCURRENTLY-built indexes (0016).

-- check: free_plan_active
-- The Free plan (inserted by 0015) exists and is switched on: the free-tier assignment
-- of user_migration gives it to every user, so it must not be a switched-off plan.
SELECT 'Free' AS plan_name
WHERE NOT EXISTS (
        SELECT 1 FROM subscription_plans AS sp
        WHERE sp.name = 'Free' AND sp.is_active
    );

-- check: user_subscriptions_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM user_subscriptions AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: user_subscriptions_plan_id_references_subscription_plans
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

-- check: usage_metrics_subscription_id_references_user_subscriptions
SELECT
    t.id,
    t.subscription_id
FROM usage_metrics AS t
WHERE
    t.subscription_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM user_subscriptions AS p
        WHERE p.id = t.subscription_id
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

-- check: billing_transactions_subscription_id_references_user_subscriptions
SELECT
    t.id,
    t.subscription_id
FROM billing_transactions AS t
WHERE
    t.subscription_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM user_subscriptions AS p
        WHERE p.id = t.subscription_id
    );

-- check: billing_tables_have_row_level_security
-- Row-level security (seed 002) is on, with at least one policy, for every table
-- holding subscription or billing rows.
SELECT expected.table_name
FROM (
    VALUES
    ('user_subscriptions'),
    ('usage_metrics'),
    ('billing_transactions')
) AS expected (table_name)
LEFT JOIN pg_catalog.pg_class AS c
    ON c.oid = to_regclass(expected.table_name)
WHERE
    c.oid IS NULL
    OR NOT c.relrowsecurity
    OR NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_policy AS pol
        WHERE pol.polrelid = c.oid
    );

-- check: subscriptions_view_covers_user_subscriptions
-- 003's queries read the subscriptions view: every subscription must be visible in it.
SELECT us.id
FROM user_subscriptions AS us
WHERE NOT EXISTS (
        SELECT 1 FROM subscriptions AS s
        WHERE s.id = us.id
    );
