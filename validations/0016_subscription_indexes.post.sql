-- Post-checks for 0016_subscription_indexes: a failed CREATE INDEX CONCURRENTLY can
-- leave an invalid index behind; both indexes must exist and be valid.

-- check: concurrent_indexes_valid
SELECT expected.name
FROM (
    VALUES ('idx_user_subscriptions_user_id'), ('idx_usage_metrics_user_date')
) AS expected (name)
LEFT JOIN pg_catalog.pg_index AS i
    ON i.indexrelid = to_regclass(expected.name) AND i.indisvalid
WHERE i.indexrelid IS NULL;
