-- Post-checks for 0015_subscriptions_billing.

-- check: free_plan_exists
SELECT 'Free' AS missing_plan
WHERE NOT EXISTS (
        SELECT 1 FROM subscription_plans AS sp
        WHERE sp.name = 'Free'
    );

-- check: billing_tables_have_row_level_security
SELECT c.relname
FROM pg_catalog.pg_class AS c
WHERE
    c.oid IN (
        'user_subscriptions'::regclass,
        'usage_metrics'::regclass,
        'billing_transactions'::regclass
    )
    AND NOT c.relrowsecurity;
