-- Post-checks for 0017_free_tier_assignment: seed 002's post-migration validation
-- ("verify subscription assignments", "verify data integrity") as anti-joins.

-- check: users_have_subscription
SELECT
    u.id,
    u.email
FROM users AS u
LEFT JOIN user_subscriptions AS us ON u.id = us.user_id
WHERE us.id IS NULL;

-- check: user_subscriptions_reference_users
SELECT
    us.id,
    us.user_id
FROM user_subscriptions AS us
WHERE NOT EXISTS (
        SELECT 1 FROM users AS u
        WHERE u.id = us.user_id
    );

-- check: assigned_subscriptions_are_free_plan
SELECT fta.subscription_id
FROM free_tier_assignments AS fta
INNER JOIN user_subscriptions AS us ON fta.subscription_id = us.id
INNER JOIN subscription_plans AS sp ON us.plan_id = sp.id
WHERE sp.name <> 'Free';
