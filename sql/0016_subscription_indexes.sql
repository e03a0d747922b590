-- squawk assumes every file runs in a transaction; this one is declared
-- transactional = False in its revision file, so dbkit runs it in autocommit.
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
-- 002's critical performance indexes for phase 1, built CONCURRENTLY so writes to the
-- tables are never blocked. Runs outside a transaction (transactional = False), one
-- statement at a time; IF NOT EXISTS makes a re-run after a partial failure safe.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_user_subscriptions_user_id
ON user_subscriptions (user_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_usage_metrics_user_date
ON usage_metrics (user_id, date);
