-- Phase investor (seed 001), pre-checks.

-- check: companies_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM companies AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );
