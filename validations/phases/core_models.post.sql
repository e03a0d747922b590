-- Phase core_models, post-checks: companies (002's businesses), ValuAI's valuations,
-- files and reports, GoodBuy's health metrics.

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

-- check: valuations_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM valuations AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: file_uploads_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM file_uploads AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: file_uploads_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM file_uploads AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );

-- check: reports_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM reports AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: reports_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM reports AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );

-- check: reports_valuation_id_references_valuations
SELECT
    t.id,
    t.valuation_id
FROM reports AS t
WHERE
    t.valuation_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM valuations AS p
        WHERE p.id = t.valuation_id
    );

-- check: health_metrics_business_id_references_companies
SELECT
    t.id,
    t.business_id
FROM health_metrics AS t
WHERE
    t.business_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.business_id
    );

-- check: businesses_view_covers_companies
-- 002's queries read businesses: every company must be visible through the view.
SELECT c.id
FROM companies AS c
WHERE NOT EXISTS (
        SELECT 1 FROM businesses AS b
        WHERE b.id = c.id
    );
