-- Post-checks for 0013_investor_metrics.

-- check: synthetic_rows_have_expiry
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
