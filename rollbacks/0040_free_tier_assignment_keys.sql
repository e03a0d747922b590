-- Non-transactional: each statement must be safe to run again (and after a partial 0040).
ALTER TABLE free_tier_assignments
DROP CONSTRAINT IF EXISTS fk_free_tier_assignments_subscription_user;

DROP INDEX CONCURRENTLY IF EXISTS uq_user_subscriptions_id_user_id;

DROP INDEX CONCURRENTLY IF EXISTS uq_free_tier_assignments_user_id;
