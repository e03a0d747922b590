-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS user_behavior;
DROP TABLE IF EXISTS product_metrics;
DROP TABLE IF EXISTS products;
