-- Phase user_migration, post-checks: seed 002's "Post-Migration Validation" as
-- anti-joins, and the bookkeeping that lets the rollback remove exactly what was added.

-- check: users_have_subscription
-- 002: users LEFT JOIN user_subscriptions WHERE us.id IS NULL (should be 0).
SELECT
    u.id,
    u.email
FROM users AS u
LEFT JOIN user_subscriptions AS us ON u.id = us.user_id
WHERE us.id IS NULL;

-- check: user_subscriptions_user_id_references_users
-- 002: user_subscriptions WHERE user_id NOT IN (SELECT id FROM users), as an anti-join.
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

-- check: free_tier_assignments_match_subscriptions
-- Every recorded assignment names an existing subscription of the same user: the
-- rollback deletes subscriptions through this table.
SELECT
    fta.subscription_id,
    fta.user_id
FROM free_tier_assignments AS fta
LEFT JOIN user_subscriptions AS us ON fta.subscription_id = us.id
WHERE us.id IS NULL OR us.user_id <> fta.user_id;

-- check: assigned_subscriptions_are_free_plan
SELECT fta.subscription_id
FROM free_tier_assignments AS fta
INNER JOIN user_subscriptions AS us ON fta.subscription_id = us.id
INNER JOIN subscription_plans AS sp ON us.plan_id = sp.id
WHERE sp.name <> 'Free';

-- check: one_free_tier_assignment_per_user
-- The assignment ran once: a second run (or a race) would give a user two Free plans.
SELECT
    fta.user_id,
    count(*) AS assignments
FROM free_tier_assignments AS fta
GROUP BY fta.user_id
HAVING count(*) > 1;
