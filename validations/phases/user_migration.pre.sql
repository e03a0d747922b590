-- Phase user_migration (seed 002 phase 2), pre-checks. The free-tier assignment only
-- inserts subscriptions: users, businesses and health metrics keep their content.
-- preserve: users, companies, health_metrics

-- check: free_plan_active
-- The Free plan (inserted by 0015) exists and is switched on: the free-tier assignment
-- of user_migration gives it to every user, so it must not be a switched-off plan.
SELECT 'Free' AS plan_name
WHERE NOT EXISTS (
        SELECT 1 FROM subscription_plans AS sp
        WHERE sp.name = 'Free' AND sp.is_active
    );

-- check: user_subscriptions_user_id_references_users
-- Subscriptions that exist before the assignment are sound: the anti-join of the assignment would otherwise skip or double users.
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
