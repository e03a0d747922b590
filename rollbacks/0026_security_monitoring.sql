DROP TABLE IF EXISTS security_alerts;
DROP TABLE IF EXISTS api_logs;
DROP TABLE IF EXISTS login_attempts;
DROP TABLE IF EXISTS api_keys;
