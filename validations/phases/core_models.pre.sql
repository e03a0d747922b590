-- Phase core_models, pre-checks.

-- check: pg_trgm_installed
-- idx_companies_name_trgm (0005) uses pg_trgm's operator class gin_trgm_ops.
SELECT 'pg_trgm' AS extension
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_extension AS e
        WHERE e.extname = 'pg_trgm'
    );

-- check: foreign_keys_in_place
-- The foreign keys the phase builds on.
-- Each key exists and is validated, so PostgreSQL guarantees every row has its parent;
-- no anti-join over the child tables (docs/decisions.md; `dbkit validate --deep`
-- re-proves them row by row).
SELECT
    expected.table_name,
    expected.column_name,
    expected.referenced_table
FROM (
    VALUES
    ('users', 'organization_id', 'organizations')
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
