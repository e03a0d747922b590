ALTER TABLE esg_metrics
DROP CONSTRAINT IF EXISTS ck_esg_metrics_synthetic_expires;

ALTER TABLE portfolio_metrics
DROP CONSTRAINT IF EXISTS ck_portfolio_metrics_synthetic_expires;
