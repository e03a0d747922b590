-- Validate 0038's constraints in their own migration: VALIDATE CONSTRAINT takes a SHARE
-- UPDATE EXCLUSIVE lock, so writers keep writing while the rows are read (in the same
-- transaction as the ADD it would run under that ALTER's ACCESS EXCLUSIVE lock instead;
-- benchmarks/README.md, "Writers during a migration").

ALTER TABLE portfolio_metrics
VALIDATE CONSTRAINT ck_portfolio_metrics_synthetic_expires;

ALTER TABLE esg_metrics
VALIDATE CONSTRAINT ck_esg_metrics_synthetic_expires;
