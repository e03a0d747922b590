-- Post-checks for 0019_ai_enhancement_indexes: both CONCURRENTLY built indexes exist
-- and are valid.

-- check: concurrent_indexes_valid
SELECT expected.name
FROM (
    VALUES ('idx_ai_sessions_user_status'), ('idx_portfolios_user_default')
) AS expected (name)
LEFT JOIN pg_catalog.pg_index AS i
    ON i.indexrelid = to_regclass(expected.name) AND i.indisvalid
WHERE i.indexrelid IS NULL;
