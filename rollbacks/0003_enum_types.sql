-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-type
DROP TYPE IF EXISTS forecast_type;
DROP TYPE IF EXISTS conversation_direction;
DROP TYPE IF EXISTS activity_type;
DROP TYPE IF EXISTS priority_level;
DROP TYPE IF EXISTS insight_type;
DROP TYPE IF EXISTS engagement_level;
DROP TYPE IF EXISTS lead_status;
DROP TYPE IF EXISTS organization_size;
DROP TYPE IF EXISTS user_role;
