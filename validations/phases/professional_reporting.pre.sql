-- Phase professional_reporting (seed 002 phase 4), pre-checks. The phase only adds a
-- table: users, businesses and health metrics keep their content.
-- preserve: users, companies, health_metrics

-- check: portfolios_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM portfolios AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

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
