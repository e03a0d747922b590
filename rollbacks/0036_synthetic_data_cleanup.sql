DROP FUNCTION IF EXISTS cleanup_expired_synthetic_data();
