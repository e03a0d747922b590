-- Post-checks for 0017_free_tier_assignment: seed 002's post-migration validation
-- ("verify subscription assignments", "verify data integrity"). "Every user has a
-- subscription" reads all users and subscriptions, so it has one home, the post-checks of
-- phase user_migration (0017 is that phase's only migration; a failure there undoes the
-- same thing), instead of running twice in a row.

-- check: assigned_subscriptions_are_free_plan
SELECT fta.subscription_id
FROM free_tier_assignments AS fta
INNER JOIN user_subscriptions AS us ON fta.subscription_id = us.id
INNER JOIN subscription_plans AS sp ON us.plan_id = sp.id
WHERE sp.name <> 'Free';

-- check: foreign_keys_in_place
-- 002's "verify data integrity": every subscription's user exists.
-- Each key exists and is validated, so PostgreSQL guarantees every row has its parent;
-- no anti-join over the child tables (docs/decisions.md; `dbkit validate --deep`
-- re-proves them row by row).
SELECT
    expected.table_name,
    expected.column_name,
    expected.referenced_table
FROM (
    VALUES
    ('user_subscriptions', 'user_id', 'users')
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
