-- Phase professional_reporting, post-checks.

-- check: generated_reports_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM generated_reports AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: generated_reports_business_id_references_companies
SELECT
    t.id,
    t.business_id
FROM generated_reports AS t
WHERE
    t.business_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.business_id
    );

-- check: generated_reports_portfolio_id_references_portfolios
SELECT
    t.id,
    t.portfolio_id
FROM generated_reports AS t
WHERE
    t.portfolio_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM portfolios AS p
        WHERE p.id = t.portfolio_id
    );
