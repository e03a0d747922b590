-- Key queries the performance guard times before and after every phase (seed 002: a
-- slowdown of more than 20% on key queries rolls the phase back). A query is timed only
-- around phases that start with its tables in place, so each guards every phase after the
-- one that created its tables. The literal and the first user/company stand for any real one.

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

-- key-query: subscription_lookup
-- 002's "subscription lookup speed": a user's active plan (idx_user_subscriptions_user_id).
SELECT
    us.id,
    us.status,
    sp.name,
    sp.ai_analysis_limit
FROM user_subscriptions AS us
INNER JOIN subscription_plans AS sp ON us.plan_id = sp.id
WHERE
    us.user_id = (
        SELECT u.id FROM users AS u
        ORDER BY u.id LIMIT 1
    )
    AND us.status = 'active';

-- key-query: usage_by_user_date
-- 002's usage tracking: a user's usage this month (idx_usage_metrics_user_date).
SELECT
    um.metric_type,
    sum(um.count) AS used
FROM usage_metrics AS um
WHERE
    um.user_id = (
        SELECT u.id FROM users AS u
        ORDER BY u.id LIMIT 1
    )
    AND um.date >= date_trunc('month', current_date)::date
GROUP BY um.metric_type;

-- key-query: ai_sessions_by_user_status
-- 002's analysis streaming: a user's running sessions (idx_ai_sessions_user_status).
SELECT
    s.id,
    s.session_type,
    s.progress_percentage
FROM ai_analysis_sessions AS s
WHERE
    s.user_id = (
        SELECT u.id FROM users AS u
        ORDER BY u.id LIMIT 1
    )
    AND s.status = 'running';

-- key-query: portfolio_by_user
-- 002's portfolio view: a user's default portfolio (idx_portfolios_user_default).
SELECT
    p.id,
    p.name
FROM portfolios AS p
WHERE
    p.user_id = (
        SELECT u.id FROM users AS u
        ORDER BY u.id LIMIT 1
    )
    AND p.is_default;
