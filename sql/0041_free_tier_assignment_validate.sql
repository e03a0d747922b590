-- Validate 0040's composite foreign key in its own migration: VALIDATE CONSTRAINT takes a
-- SHARE UPDATE EXCLUSIVE lock on free_tier_assignments (ROW SHARE on user_subscriptions),
-- so writers keep writing while the rows are read; in the same statement as the ADD it
-- would hold SHARE ROW EXCLUSIVE on both tables for the whole read.

ALTER TABLE free_tier_assignments
VALIDATE CONSTRAINT fk_free_tier_assignments_subscription_user;
