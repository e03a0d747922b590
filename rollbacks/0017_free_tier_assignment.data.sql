-- Data-level rollback of 0017 (seed 002 "Level 2: Data Rollback" for phase 2): remove
-- exactly the subscriptions the free-tier assignment created, as the paired rollback
-- does, but keep free_tier_assignments (its rows go with their subscriptions, ON DELETE
-- CASCADE), so the schema is unchanged. Subscriptions users had or chose themselves,
-- Free ones included, stay. A billing transaction or usage row that references an
-- assigned subscription makes this fail on the foreign key instead of losing billing
-- data; nothing of the rollback is done then.
DELETE FROM user_subscriptions AS us
USING free_tier_assignments AS fta
WHERE us.id = fta.subscription_id;
