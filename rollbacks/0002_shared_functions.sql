DROP FUNCTION IF EXISTS app_current_user_id();
DROP FUNCTION IF EXISTS update_updated_at_column();
