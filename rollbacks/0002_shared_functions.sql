-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-function
DROP FUNCTION IF EXISTS app_current_user_id();
DROP FUNCTION IF EXISTS update_updated_at_column();
