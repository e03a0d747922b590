-- Phase commerce (seed 003), pre-checks: 003's subscriptions are 002's, through the
-- subscriptions view; they must be sound before 003's tables join them.

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
