-- Data-level rollback of 0015 (seed 002 "Level 2: Data Rollback"): the tables stay,
-- the data this migration introduced goes. 0015 inserted exactly one row, the Free plan
-- (name 'Free', billing period 'monthly', unique together); plans, subscriptions, usage
-- and billing rows written since by the application are not the migration's data and
-- are kept (002's own Level 2, which empties user_subscriptions, usage_metrics and
-- billing_transactions, would delete customers' paid subscriptions and billing history).
-- While any subscription still uses the Free plan, the foreign key from
-- user_subscriptions stops this DELETE and the whole rollback is undone: remove the
-- free-tier subscriptions first (0017's data level, run before this file when both
-- phases are rolled back together), or use the feature level to switch the plan off.
DELETE FROM subscription_plans AS sp
WHERE sp.name = 'Free' AND sp.billing_period = 'monthly';
