-- squawk assumes every file runs in a transaction; this one is declared
-- transactional = False in its revision file, so dbkit runs it in autocommit.
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
-- Data guards for 002's free-tier assignment (0017): each user is assigned at most once,
-- and an assignment names a subscription of that same user (0017's rollback deletes the
-- subscriptions through this table). Both were data checks reading the two tables at
-- every phase boundary; as keys PostgreSQL guarantees them and the checks read the
-- catalog. The unique indexes are built CONCURRENTLY (writers keep writing); the
-- composite foreign key is added NOT VALID (a moment's lock, no row read) and 0041
-- validates it. Runs outside a transaction, one statement at a time: IF [NOT] EXISTS
-- makes a re-run after a partial failure safe (dbkit also undoes a failed run with the
-- paired rollback). A user_id found twice stops the first build, and PostgreSQL names it.

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_free_tier_assignments_user_id
ON free_tier_assignments (user_id);

-- The target of the composite key: id alone is already unique, so (id, user_id) is too;
-- PostgreSQL needs the pair as a unique index to reference it.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_user_subscriptions_id_user_id
ON user_subscriptions (id, user_id);

-- A re-run drops the NOT VALID key a partial run left, to add it again: the guarantee it
-- removes for a moment is one nobody could rely on yet.
ALTER TABLE free_tier_assignments
-- squawk-ignore ban-drop-constraint
DROP CONSTRAINT IF EXISTS fk_free_tier_assignments_subscription_user;

ALTER TABLE free_tier_assignments
ADD CONSTRAINT fk_free_tier_assignments_subscription_user
FOREIGN KEY (subscription_id, user_id)
REFERENCES user_subscriptions (id, user_id) ON DELETE CASCADE NOT VALID;
