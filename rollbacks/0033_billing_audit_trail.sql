-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table, ban-drop-function
DROP TRIGGER IF EXISTS trg_payments_audit ON payments;
DROP TRIGGER IF EXISTS trg_billing_transactions_audit ON billing_transactions;
DROP TRIGGER IF EXISTS trg_user_subscriptions_audit ON user_subscriptions;
DROP TRIGGER IF EXISTS trg_subscription_plans_audit ON subscription_plans;
DROP FUNCTION IF EXISTS audit_billing_change();
DROP TABLE IF EXISTS billing_audit_log;
