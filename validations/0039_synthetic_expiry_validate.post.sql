-- Post-checks for 0039_synthetic_expiry_validate: each check is a line
-- `-- check: <name>` followed by one SELECT returning the offending rows (none = pass).

-- check: synthetic_expiry_constraints_validated
-- PostgreSQL now guarantees that every synthetic trajectory row expires.
SELECT expected.conname
FROM (
    VALUES
    ('portfolio_metrics', 'ck_portfolio_metrics_synthetic_expires'),
    ('esg_metrics', 'ck_esg_metrics_synthetic_expires')
) AS expected (table_name, conname)
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint AS con
        WHERE
            con.contype = 'c'
            AND con.convalidated
            AND con.conrelid = to_regclass(expected.table_name)
            AND con.conname = expected.conname
    );
