DROP TABLE IF EXISTS health_metrics;
DROP VIEW IF EXISTS businesses;
