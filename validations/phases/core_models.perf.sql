-- Phase core_models: key queries the performance guard times before and after the phase
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
