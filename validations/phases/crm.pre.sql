-- Phase crm (seed 004), pre-checks: leads belong to organizations and teams and are
-- assigned to users; the tenancy they build on must be sound.

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
