-- Phase foundation, post-checks: the extension, roles, shared functions and the nine
-- enum types every later phase relies on.

-- check: foundation_objects_exist
-- Everything later phases create tables, triggers and policies with.
SELECT
    expected.kind,
    expected.object_name
FROM (
    VALUES
    ('extension', 'pg_trgm'),
    ('role', 'dbkit_app'),
    ('role', 'dbkit_billing_admin'),
    ('function', 'update_updated_at_column()'),
    ('function', 'app_current_user_id()'),
    ('type', 'user_role'),
    ('type', 'organization_size'),
    ('type', 'lead_status'),
    ('type', 'engagement_level'),
    ('type', 'insight_type'),
    ('type', 'priority_level'),
    ('type', 'activity_type'),
    ('type', 'conversation_direction'),
    ('type', 'forecast_type')
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
