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

-- check: foreign_keys_in_place
-- Subscriptions that exist before the assignment are sound: the anti-join of the
-- assignment would otherwise skip or double users.
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
    ('user_subscriptions', 'plan_id', 'subscription_plans')
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
