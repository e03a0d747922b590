DROP TABLE IF EXISTS performance_metrics;
DROP TABLE IF EXISTS forecasts;
