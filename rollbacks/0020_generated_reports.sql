DROP TABLE IF EXISTS generated_reports;
