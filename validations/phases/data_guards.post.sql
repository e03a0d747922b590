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

-- check: free_tier_assignment_keys_in_place
-- 002's free-tier assignment as keys (0040, validated in 0041): one assignment per user
-- (unique index uq_free_tier_assignments_user_id), naming a subscription of that same
-- user (fk_free_tier_assignments_subscription_user, validated, to the unique index
-- uq_user_subscriptions_id_user_id). With them in place phase user_migration's checks of
-- the same rules read no row.
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
            AND con.convalidated
            AND con.conrelid = to_regclass('free_tier_assignments')
            AND con.conname = 'fk_free_tier_assignments_subscription_user'
    );
