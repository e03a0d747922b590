-- Phase identity, post-checks: organizations, users and teams reference each other
-- (users.team_id and teams.manager_id form a cycle, added in two steps by 0004).

-- check: users_organization_id_references_organizations
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

-- check: users_team_id_references_teams
SELECT
    t.id,
    t.team_id
FROM users AS t
WHERE
    t.team_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM teams AS p
        WHERE p.id = t.team_id
    );

-- check: teams_organization_id_references_organizations
SELECT
    t.id,
    t.organization_id
FROM teams AS t
WHERE
    t.organization_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM organizations AS p
        WHERE p.id = t.organization_id
    );

-- check: teams_manager_id_references_users
SELECT
    t.id,
    t.manager_id
FROM teams AS t
WHERE
    t.manager_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.manager_id
    );

-- check: users_email_unique_index
-- The seeds' UNIQUE (email) is enforced by the unique index idx_users_email.
SELECT 'idx_users_email' AS index_name
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index AS i
        WHERE
            i.indexrelid = to_regclass('idx_users_email')
            AND i.indisunique
            AND i.indisvalid
    );
