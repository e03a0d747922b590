DROP FUNCTION IF EXISTS apply_data_retention(TIMESTAMPTZ);
DROP TABLE IF EXISTS data_retention_policies;
