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

-- check: free_tier_assignments_match_subscriptions
-- Every recorded assignment names an existing subscription of the same user: the
-- rollback deletes subscriptions through this table.
-- That the subscription exists is fk_free_tier_assignments_subscription_id's promise
-- (foreign_keys_in_place below); that it is the same user's, no constraint's.
SELECT
    fta.subscription_id,
    fta.user_id
FROM free_tier_assignments AS fta
INNER JOIN user_subscriptions AS us ON fta.subscription_id = us.id
WHERE us.user_id <> fta.user_id;

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

-- check: foreign_keys_in_place
-- 002's "user_subscriptions WHERE user_id NOT IN (SELECT id FROM users)", from the catalog.
-- Each key exists and is validated, so PostgreSQL guarantees every row has its parent;
-- no anti-join over the child tables (docs/decisions.md; `dbkit validate --deep`
-- re-proves them row by row).
SELECT
    expected.table_name,
    expected.column_name,
    expected.referenced_table
FROM (
    VALUES
    ('user_subscriptions', 'user_id', 'users'),
    ('user_subscriptions', 'plan_id', 'subscription_plans'),
    ('free_tier_assignments', 'subscription_id', 'user_subscriptions')
) AS expected (table_name, column_name, referenced_table)
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint AS con
        INNER JOIN pg_catalog.pg_attribute AS a
            ON con.conrelid = a.attrelid AND con.conkey[1] = a.attnum
        WHERE
            con.contype = 'f'
            AND con.convalidated
            AND con.conrelid = to_regclass(expected.table_name)
            AND con.confrelid = to_regclass(expected.referenced_table)
            AND cardinality(con.conkey) = 1
            AND a.attname = expected.column_name
    );
