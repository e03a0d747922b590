-- Phase schema_preparation: key queries the performance guard times before and after the phase
-- (seed 002: a slowdown of more than 20% on key queries rolls the phase back). Each
-- runs on tables created by earlier phases; the literal and the first user/company stand
-- for any real one.

-- key-query: user_by_email
-- Sign-in: one user by e-mail (unique index idx_users_email).
SELECT
    u.id,
    u.full_name,
    u.subscription_tier
FROM users AS u
WHERE u.email = 'user1@example.com';

-- key-query: businesses_by_owner
-- 002's business list of a user, through the businesses view (idx_companies_user_id).
SELECT
    b.id,
    b.name,
    b.industry
FROM businesses AS b
WHERE b.owner_id = (
        SELECT u.id FROM users AS u
        ORDER BY u.id LIMIT 1
    );

-- key-query: latest_health_metrics
-- 002's health dashboard: a business's latest score (idx_health_metrics_business_calculated).
SELECT
    hm.overall_score,
    hm.risk_level,
    hm.calculated_at
FROM health_metrics AS hm
WHERE hm.business_id = (
        SELECT c.id FROM companies AS c
        ORDER BY c.id LIMIT 1
    )
ORDER BY hm.calculated_at DESC
LIMIT 1;
