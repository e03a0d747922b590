-- Pre-checks for 0017_free_tier_assignment.

-- check: free_plan_exists
SELECT 'Free' AS missing_plan
WHERE NOT EXISTS (
        SELECT 1 FROM subscription_plans AS sp
        WHERE sp.name = 'Free'
    );
