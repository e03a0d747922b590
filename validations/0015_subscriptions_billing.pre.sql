-- Pre-checks for 0015_subscriptions_billing: seed 002's pre-migration validation
-- ("validate existing data integrity"), proven from the catalog.

-- check: foreign_keys_in_place
-- Seed 002's pre-migration validation (users WHERE id IS NULL, businesses whose owner
-- is missing, health metrics whose business is missing) as the catalog proves it: the
-- primary key of users forbids a NULL id, and these validated keys forbid the orphans.
-- Each key exists and is validated, so PostgreSQL guarantees every row has its parent;
-- no anti-join over the child tables (docs/decisions.md; `dbkit validate --deep`
-- re-proves them row by row).
SELECT
    expected.table_name,
    expected.column_name,
    expected.referenced_table
FROM (
    VALUES
    ('companies', 'user_id', 'users'),
    ('health_metrics', 'business_id', 'companies')
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
