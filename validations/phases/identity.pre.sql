-- Phase identity, pre-checks.

-- check: foundation_objects_exist
-- organizations and users use these types; every table gets the updated_at trigger.
SELECT
    expected.kind,
    expected.object_name
FROM (
    VALUES
    ('function', 'update_updated_at_column()'),
    ('type', 'user_role'),
    ('type', 'organization_size')
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
