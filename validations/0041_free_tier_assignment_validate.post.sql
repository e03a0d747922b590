-- Post-checks for 0041_free_tier_assignment_validate: each check is a line
-- `-- check: <name>` followed by one SELECT returning the offending rows (none = pass).

-- check: free_tier_assignment_key_validated
-- PostgreSQL now guarantees that every assignment names a subscription of its own user.
SELECT 'fk_free_tier_assignments_subscription_user' AS conname
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint AS con
        WHERE
            con.contype = 'f'
            AND con.convalidated
            AND con.conrelid = to_regclass('free_tier_assignments')
            AND con.conname = 'fk_free_tier_assignments_subscription_user'
    );
