-- Phase core_analytics, post-checks.

-- check: valuation_analytics_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM valuation_analytics AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: valuation_analytics_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM valuation_analytics AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );
