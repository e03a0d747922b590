-- Phase core_analytics (seed 000 phase 1), pre-checks: the companies and valuations the
-- analytics refer to are sound.

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

-- check: valuations_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM valuations AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );
