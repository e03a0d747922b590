-- squawk assumes every file runs in a transaction; this one is declared
-- transactional = False in its revision file, so dbkit runs it in autocommit.
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
-- 002's performance indexes for phase 3, built CONCURRENTLY outside a transaction
-- (transactional = False); IF NOT EXISTS makes a re-run safe.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_user_status
ON ai_analysis_sessions (user_id, status);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_portfolios_user_default
ON portfolios (user_id, is_default);
