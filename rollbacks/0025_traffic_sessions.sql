DROP TABLE IF EXISTS user_sessions;
DROP TABLE IF EXISTS conversions;
DROP TABLE IF EXISTS page_views;
