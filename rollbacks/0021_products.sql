DROP TABLE IF EXISTS user_behavior;
DROP TABLE IF EXISTS product_metrics;
DROP TABLE IF EXISTS products;
