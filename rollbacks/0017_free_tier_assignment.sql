-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
-- Remove exactly the subscriptions 0017 created. A billing transaction or usage row
-- that references one of them makes this fail (foreign key) rather than lose data.
DELETE FROM user_subscriptions AS us
USING free_tier_assignments AS fta
WHERE us.id = fta.subscription_id;

DROP TABLE IF EXISTS free_tier_assignments;
