-- Phase schema_preparation (seed 002 phase 1), pre-checks: seed 002's "Pre-Migration
-- Validation", proven from the catalog (validated keys, primary key), and its data preservation
-- guarantee: the phase only adds tables, so existing users, businesses (= companies) and
-- health metrics keep their exact content.
-- preserve: users, companies, health_metrics

-- check: billing_roles_exist
-- 0015 grants the billing tables to these roles and writes policies for them.
SELECT
    expected.kind,
    expected.object_name
FROM (
    VALUES
    ('role', 'dbkit_app'),
    ('role', 'dbkit_billing_admin'),
    ('function', 'app_current_user_id()')
) AS expected (kind, object_name)
WHERE
    (expected.kind = 'function' AND to_regprocedure(expected.object_name) IS NULL)
    OR (expected.kind = 'type' AND to_regtype(expected.object_name) IS NULL)
    OR (expected.kind = 'relation' AND to_regclass(expected.object_name) IS NULL)
    OR (
        expected.kind = 'extension'
        AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_extension AS e
            WHERE e.extname = expected.object_name
        )
    )
    OR (
        expected.kind = 'role'
        AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_roles AS r
            WHERE r.rolname = expected.object_name
        )
    );

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
