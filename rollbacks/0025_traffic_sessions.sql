-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS user_sessions;
DROP TABLE IF EXISTS conversions;
DROP TABLE IF EXISTS page_views;
