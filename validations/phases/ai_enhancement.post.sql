-- Phase ai_enhancement, post-checks: analysis sessions and portfolios, and 002's
-- CONCURRENTLY-built indexes (0019), which are the only indexes on their user_id keys.

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
    ('ai_analysis_sessions', 'user_id', 'users'),
    ('ai_analysis_sessions', 'business_id', 'companies'),
    ('portfolios', 'user_id', 'users'),
    ('portfolio_businesses', 'portfolio_id', 'portfolios'),
    ('portfolio_businesses', 'business_id', 'companies')
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
