-- Non-transactional: each statement must be safe to run again.
DROP INDEX CONCURRENTLY IF EXISTS idx_portfolios_user_default;

DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_user_status;
