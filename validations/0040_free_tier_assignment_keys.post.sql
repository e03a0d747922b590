-- Post-checks for 0040_free_tier_assignment_keys: each check is a line
-- `-- check: <name>` followed by one SELECT returning the offending rows (none = pass).

-- check: free_tier_assignment_keys_added
-- The two unique indexes are built and valid; the composite foreign key exists (NOT VALID
-- until 0041).
SELECT
    expected.table_name,
    expected.object_name
FROM (
    VALUES
    ('free_tier_assignments', 'uq_free_tier_assignments_user_id'),
    ('user_subscriptions', 'uq_user_subscriptions_id_user_id')
) AS expected (table_name, object_name)
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index AS i
        WHERE
            i.indisunique
            AND i.indisvalid
            AND i.indpred IS NULL
            AND i.indrelid = to_regclass(expected.table_name)
            AND i.indexrelid = to_regclass(expected.object_name)
    )
UNION ALL
SELECT
    'free_tier_assignments' AS table_name,
    'fk_free_tier_assignments_subscription_user' AS object_name
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint AS con
        WHERE
            con.contype = 'f'
            AND con.conrelid = to_regclass('free_tier_assignments')
            AND con.conname = 'fk_free_tier_assignments_subscription_user'
    );
