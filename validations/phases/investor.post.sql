-- Phase investor, post-checks: investments, 001's metrics tables and engagement events.

-- check: subscription_events_have_row_level_security
-- Row-level security (seed 002) is on, with at least one policy, for every table
-- holding subscription or billing rows.
SELECT expected.table_name
FROM (
    VALUES
    ('subscription_events')
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
    ('investments', 'investor_id', 'users'),
    ('investments', 'company_id', 'companies'),
    ('portfolio_metrics', 'investor_id', 'users'),
    ('portfolio_metrics', 'company_id', 'companies'),
    ('esg_metrics', 'company_id', 'companies'),
    ('economic_impact', 'company_id', 'companies'),
    ('corporate_partnerships', 'corporate_partner_id', 'users'),
    ('corporate_partnerships', 'startup_id', 'companies'),
    ('token_transactions', 'user_id', 'users'),
    ('analytics_events', 'user_id', 'users'),
    ('subscription_events', 'user_id', 'users')
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
