-- Pre-checks for 0039_synthetic_expiry_validate: each check is a line
-- `-- check: <name>` followed by one SELECT returning the offending rows (none = pass).

-- check: synthetic_rows_have_expiry_before_validation
-- The rows VALIDATE CONSTRAINT would refuse, named before it runs. This reads both tables
-- once, while the constraints are NOT VALID; once they are validated, dbkit plans it as
-- empty (checks run with constraint_exclusion = on).
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
