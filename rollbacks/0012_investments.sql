DROP TABLE IF EXISTS investments;
