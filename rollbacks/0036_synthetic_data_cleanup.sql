-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-function
DROP FUNCTION IF EXISTS cleanup_expired_synthetic_data();
