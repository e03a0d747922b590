-- Phase ai_enhancement, post-checks: analysis sessions and portfolios, and 002's
-- CONCURRENTLY-built indexes (0019), which are the only indexes on their user_id keys.

-- check: ai_analysis_sessions_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM ai_analysis_sessions AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: ai_analysis_sessions_business_id_references_companies
SELECT
    t.id,
    t.business_id
FROM ai_analysis_sessions AS t
WHERE
    t.business_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.business_id
    );

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

-- check: portfolio_businesses_portfolio_id_references_portfolios
SELECT
    t.id,
    t.portfolio_id
FROM portfolio_businesses AS t
WHERE
    t.portfolio_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM portfolios AS p
        WHERE p.id = t.portfolio_id
    );

-- check: portfolio_businesses_business_id_references_companies
SELECT
    t.id,
    t.business_id
FROM portfolio_businesses AS t
WHERE
    t.business_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.business_id
    );
