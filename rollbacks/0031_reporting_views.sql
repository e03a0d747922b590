DROP VIEW IF EXISTS company_performance;
