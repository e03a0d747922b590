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
-- It is as long as the view reads user_subscriptions alone and unfiltered, which its definition
-- says without reading a row: one relation, no WHERE, JOIN, LIMIT, DISTINCT, GROUP BY
-- or set operation (an anti-join of user_subscriptions against the view read both in full).
SELECT v.view_name
FROM (VALUES ('subscriptions', 'user_subscriptions')) AS v (view_name, table_name)
WHERE
    to_regclass(v.view_name) IS NULL
    OR pg_get_viewdef(to_regclass(v.view_name)) ~* (
        '\m(where|join|limit|offset|fetch|distinct|group|having|union|intersect|except)\M'
    )
    OR NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS d
        INNER JOIN pg_catalog.pg_rewrite AS r ON d.objid = r.oid
        WHERE
            d.classid = 'pg_catalog.pg_rewrite'::regclass
            AND r.ev_class = to_regclass(v.view_name)
            AND d.refobjid = to_regclass(v.table_name)
    )
    OR EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS d
        INNER JOIN pg_catalog.pg_rewrite AS r ON d.objid = r.oid
        WHERE
            d.classid = 'pg_catalog.pg_rewrite'::regclass
            AND d.refclassid = 'pg_catalog.pg_class'::regclass
            AND r.ev_class = to_regclass(v.view_name)
            AND d.refobjid <> r.ev_class
            AND d.refobjid IS DISTINCT FROM to_regclass(v.table_name)
    );

-- check: foreign_keys_in_place
-- The foreign keys this phase added or relies on.
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
    ('usage_metrics', 'user_id', 'users'),
    ('usage_metrics', 'subscription_id', 'user_subscriptions'),
    ('billing_transactions', 'user_id', 'users'),
    ('billing_transactions', 'subscription_id', 'user_subscriptions')
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
