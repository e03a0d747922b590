-- Phase data_guards, post-checks.

-- check: synthetic_rows_expire
-- Every synthetic trajectory row expires. With both constraints validated this is planned
-- as empty (checks run with constraint_exclusion = on) and reads no row of either table.
SELECT
    'portfolio_metrics' AS table_name,
    pm.id
FROM portfolio_metrics AS pm
WHERE pm.is_synthetic AND pm.expires_at IS NULL
UNION ALL
SELECT
    'esg_metrics' AS table_name,
    em.id
FROM esg_metrics AS em
WHERE em.is_synthetic AND em.expires_at IS NULL;
