-- A validated constraint cannot be marked not valid again: put 0040's NOT VALID
-- foreign key back as 0040 left it.

ALTER TABLE free_tier_assignments
DROP CONSTRAINT IF EXISTS fk_free_tier_assignments_subscription_user;

ALTER TABLE free_tier_assignments
ADD CONSTRAINT fk_free_tier_assignments_subscription_user
FOREIGN KEY (subscription_id, user_id)
REFERENCES user_subscriptions (id, user_id) ON DELETE CASCADE NOT VALID;
