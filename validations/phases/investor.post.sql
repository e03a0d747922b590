-- Phase investor, post-checks: investments, 001's metrics tables and engagement events.

-- check: investments_investor_id_references_users
SELECT
    t.id,
    t.investor_id
FROM investments AS t
WHERE
    t.investor_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.investor_id
    );

-- check: investments_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM investments AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );

-- check: portfolio_metrics_investor_id_references_users
SELECT
    t.id,
    t.investor_id
FROM portfolio_metrics AS t
WHERE
    t.investor_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.investor_id
    );

-- check: portfolio_metrics_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM portfolio_metrics AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );

-- check: esg_metrics_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM esg_metrics AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );

-- check: economic_impact_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM economic_impact AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );

-- check: corporate_partnerships_corporate_partner_id_references_users
SELECT
    t.id,
    t.corporate_partner_id
FROM corporate_partnerships AS t
WHERE
    t.corporate_partner_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.corporate_partner_id
    );

-- check: corporate_partnerships_startup_id_references_companies
SELECT
    t.id,
    t.startup_id
FROM corporate_partnerships AS t
WHERE
    t.startup_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.startup_id
    );

-- check: token_transactions_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM token_transactions AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: analytics_events_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM analytics_events AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: subscription_events_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM subscription_events AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: subscription_events_have_row_level_security
-- Row-level security (seed 002) is on, with at least one policy, for every table
-- holding subscription or billing rows.
SELECT expected.table_name
FROM (
    VALUES
    ('subscription_events')
) AS expected (table_name)
LEFT JOIN pg_catalog.pg_class AS c
    ON c.oid = to_regclass(expected.table_name)
WHERE
    c.oid IS NULL
    OR NOT c.relrowsecurity
    OR NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_policy AS pol
        WHERE pol.polrelid = c.oid
    );
