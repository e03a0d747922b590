-- Phase core_models, pre-checks.

-- check: pg_trgm_installed
-- idx_companies_name_trgm (0005) uses pg_trgm's operator class gin_trgm_ops.
SELECT 'pg_trgm' AS extension
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_extension AS e
        WHERE e.extname = 'pg_trgm'
    );

-- check: users_organization_id_references_organizations
-- companies, valuations, files and reports hang off users: they must be sound.
SELECT
    t.id,
    t.organization_id
FROM users AS t
WHERE
    t.organization_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM organizations AS p
        WHERE p.id = t.organization_id
    );
