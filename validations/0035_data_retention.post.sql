-- Post-checks for 0035_data_retention: every category the function handles has a
-- policy row.

-- check: retention_policy_for_every_category
SELECT expected.category
FROM (
    VALUES
    ('leads'), ('journey_events'), ('conversations'), ('analytics_events'),
    ('login_attempts')
) AS expected (category)
LEFT JOIN data_retention_policies AS p ON expected.category = p.data_category
WHERE p.data_category IS NULL;
