-- A validated constraint cannot be marked not valid again: put 0038's NOT VALID
-- constraints back as 0038 left them.

ALTER TABLE esg_metrics
DROP CONSTRAINT IF EXISTS ck_esg_metrics_synthetic_expires;

ALTER TABLE esg_metrics
ADD CONSTRAINT ck_esg_metrics_synthetic_expires
CHECK (NOT is_synthetic OR expires_at IS NOT NULL) NOT VALID;

ALTER TABLE portfolio_metrics
DROP CONSTRAINT IF EXISTS ck_portfolio_metrics_synthetic_expires;

ALTER TABLE portfolio_metrics
ADD CONSTRAINT ck_portfolio_metrics_synthetic_expires
CHECK (NOT is_synthetic OR expires_at IS NOT NULL) NOT VALID;
