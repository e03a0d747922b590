-- Pre-checks for 0015_subscriptions_billing: seed 002's pre-migration validation
-- ("validate existing data integrity"), rewritten as anti-joins on indexed keys.

-- check: users_id_not_null
SELECT u.email FROM users AS u
WHERE u.id IS NULL;

-- check: businesses_have_existing_owner
SELECT
    b.id,
    b.owner_id
FROM businesses AS b
WHERE
    b.owner_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS u
        WHERE u.id = b.owner_id
    );

-- check: health_metrics_have_existing_business
SELECT
    hm.id,
    hm.business_id
FROM health_metrics AS hm
WHERE NOT EXISTS (
        SELECT 1 FROM businesses AS b
        WHERE b.id = hm.business_id
    );
