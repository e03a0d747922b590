-- Data guards: a synthetic row always carries an expiry (seed 001), or
-- cleanup_expired_synthetic_data() never removes it. The two 12-month trajectory tables
-- hold most synthetic rows (twelve per company), so the rule is a constraint rather than a
-- check that reads them: PostgreSQL then guarantees it, and a check asking for the rows it
-- forbids is planned as empty. Added NOT VALID, so each ALTER holds its lock for a moment
-- only; 0039 validates the rows without blocking writers.

ALTER TABLE portfolio_metrics
ADD CONSTRAINT ck_portfolio_metrics_synthetic_expires
CHECK (NOT is_synthetic OR expires_at IS NOT NULL) NOT VALID;

ALTER TABLE esg_metrics
ADD CONSTRAINT ck_esg_metrics_synthetic_expires
CHECK (NOT is_synthetic OR expires_at IS NOT NULL) NOT VALID;
