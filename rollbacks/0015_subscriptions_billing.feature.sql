-- Feature-level rollback of 0015 (seed 002 "Level 3: Feature Rollback"): keep every
-- table and row, switch the subscription plans off so no new subscription is sold.
-- Existing subscriptions, usage and billing history are untouched. To switch back on,
-- UPDATE subscription_plans SET is_active = true for the plans to offer again (with the
-- finalization phase applied, billing_audit_log records which plans this turned off).
UPDATE subscription_plans
SET is_active = FALSE
WHERE is_active IS DISTINCT FROM FALSE;
