-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-extension
-- The roles dbkit_app and dbkit_billing_admin are deliberately NOT dropped: roles are
-- server-wide and other databases on the same server may use them (and DROP ROLE fails
-- while any database holds a privilege granted to them). Nothing in this database
-- refers to them any more once the later migrations are rolled back.
DROP EXTENSION IF EXISTS pg_trgm;
