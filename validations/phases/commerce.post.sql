-- Phase commerce, post-checks: products, revenue, payments and orders, experiments,
-- traffic and security tables.

-- check: payments_have_row_level_security
-- Row-level security (seed 002) is on, with at least one policy, for every table
-- holding subscription or billing rows.
SELECT expected.table_name
FROM (
    VALUES
    ('payments')
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
    ('product_metrics', 'product_id', 'products'),
    ('user_behavior', 'user_id', 'users'),
    ('user_behavior', 'product_id', 'products'),
    ('revenue_breakdown', 'product_id', 'products'),
    ('payments', 'user_id', 'users'),
    ('payments', 'product_id', 'products'),
    ('orders', 'user_id', 'users'),
    ('marketing_content', 'product_id', 'products'),
    ('ab_test_results', 'test_id', 'ab_tests'),
    ('page_views', 'user_id', 'users'),
    ('conversions', 'user_id', 'users'),
    ('user_sessions', 'user_id', 'users'),
    ('api_keys', 'user_id', 'users')
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
