-- Phase user_migration, post-checks: seed 002's "Post-Migration Validation" as
-- anti-joins, and the bookkeeping that lets the rollback remove exactly what was added.

-- check: users_have_subscription
-- 002: users LEFT JOIN user_subscriptions WHERE us.id IS NULL (should be 0).
-- Seed 002 states it as its post-migration validation: what the assignment just did, not
-- a rule of the schema (a user signing up later has no plan until the product gives
-- one), and no constraint says "every parent has a child". So it stays a data check with
-- one home, this phase's post-checks, bounded by users: one pass over users probing
-- idx_user_subscriptions_user_id, the cost of the assignment itself; the check_timeout
-- budget stops it. `dbkit validate` at head (phase data_guards) never runs it.
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
-- (foreign_keys_in_place below); that it is the same user's is the composite key
-- fk_free_tier_assignments_subscription_user's once 0041 has validated it (phase
-- data_guards). Until then the rows are read; once the key is validated the NOT EXISTS,
-- which names no row, is false and PostgreSQL evaluates it once before reading any row
-- (a one-time filter): the check reads the catalog only.
SELECT
    fta.subscription_id,
    fta.user_id
FROM free_tier_assignments AS fta
INNER JOIN user_subscriptions AS us ON fta.subscription_id = us.id
WHERE
    us.user_id <> fta.user_id
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint AS con
        WHERE
            con.contype = 'f'
            AND con.convalidated
            AND con.conrelid = to_regclass('free_tier_assignments')
            AND con.conname = 'fk_free_tier_assignments_subscription_user'
    );

-- check: assigned_subscriptions_are_free_plan
SELECT fta.subscription_id
FROM free_tier_assignments AS fta
INNER JOIN user_subscriptions AS us ON fta.subscription_id = us.id
INNER JOIN subscription_plans AS sp ON us.plan_id = sp.id
WHERE sp.name <> 'Free';

-- check: one_free_tier_assignment_per_user
-- The assignment ran once: a second run (or a race) would give a user two Free plans.
-- Once 0040 has built the unique index uq_free_tier_assignments_user_id (phase
-- data_guards) PostgreSQL says it, and the one-time filter below stops the check before
-- it reads a row.
SELECT
    fta.user_id,
    count(*) AS assignments
FROM free_tier_assignments AS fta
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index AS i
        WHERE
            i.indisunique
            AND i.indisvalid
            AND i.indpred IS NULL
            AND i.indrelid = to_regclass('free_tier_assignments')
            AND i.indexrelid = to_regclass('uq_free_tier_assignments_user_id')
    )
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
