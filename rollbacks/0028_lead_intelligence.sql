-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS journey_events;
DROP TABLE IF EXISTS ai_insights;
DROP TABLE IF EXISTS lead_scores;
