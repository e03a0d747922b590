-- Phase schema_preparation (seed 002 phase 1), pre-checks: seed 002's "Pre-Migration
-- Validation", rewritten as anti-joins on indexed keys, and its data preservation
-- guarantee: the phase only adds tables, so existing users, businesses (= companies) and
-- health metrics keep their exact content.
-- preserve: users, companies, health_metrics

-- check: users_id_not_null
-- 002: SELECT COUNT(*) FROM users WHERE id IS NULL (should be 0).
SELECT u.email
FROM users AS u
WHERE u.id IS NULL;

-- check: businesses_have_existing_owner
-- Seed 002's pre-migration validation ("businesses WHERE owner_id NOT IN (SELECT id FROM
-- users)") as an anti-join: NOT IN silently passes as soon as the subquery yields a NULL.
SELECT
    b.id,
    b.owner_id
FROM businesses AS b
WHERE
    b.owner_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS u
        WHERE u.id = b.owner_id
    );

-- check: health_metrics_have_existing_business
-- 002: health_metrics WHERE business_id NOT IN (SELECT id FROM businesses), as an
-- anti-join on the primary key of companies (the table behind businesses).
SELECT
    hm.id,
    hm.business_id
FROM health_metrics AS hm
WHERE NOT EXISTS (
        SELECT 1 FROM businesses AS b
        WHERE b.id = hm.business_id
    );

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
