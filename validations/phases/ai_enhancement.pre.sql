-- Phase ai_enhancement (seed 002 phase 3), pre-checks. The phase only adds tables and
-- indexes: users, businesses and health metrics keep their content.
-- preserve: users, companies, health_metrics

-- check: foreign_keys_in_place
-- Seed 002's "businesses whose owner is missing" (and the phase's other keys), from the
-- catalog.
-- Each key exists and is validated, so PostgreSQL guarantees every row has its parent;
-- no anti-join over the child tables (docs/decisions.md; `dbkit validate --deep`
-- re-proves them row by row).
SELECT
    expected.table_name,
    expected.column_name,
    expected.referenced_table
FROM (
    VALUES
    ('companies', 'user_id', 'users')
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
