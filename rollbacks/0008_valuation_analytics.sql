DROP TABLE IF EXISTS market_benchmarks;
DROP TABLE IF EXISTS valuation_analytics;
