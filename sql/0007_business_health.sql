-- GoodBuy HQ's existing business model (seed 002 names businesses and health_metrics
-- but does not define them). Businesses are companies: the businesses view keeps 002's
-- name and its owner_id column so 002's queries run unchanged; it is a simple view, so
-- INSERT/UPDATE/DELETE through it reach companies. security_invoker makes row-level
-- security and privileges apply as the querying role.

CREATE VIEW businesses WITH (security_invoker = TRUE) AS
SELECT
    id,
    user_id AS owner_id,
    name,
    description,
    industry,
    stage,
    location,
    website,
    revenue,
    employees,
    founded_date,
    created_at,
    updated_at
FROM companies;

COMMENT ON VIEW businesses IS
'Compatibility view (seed 002): GoodBuy businesses are rows of companies; owner_id = companies.user_id.';

CREATE TABLE health_metrics (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id uuid NOT NULL,
    overall_score integer,
    financial_score integer,
    growth_score integer,
    operational_score integer,
    market_score integer,
    risk_level varchar(20),
    trajectory varchar(20),
    confidence numeric(3, 2),
    metrics jsonb DEFAULT '{}',
    forecast jsonb DEFAULT '{}',
    calculated_at timestamptz DEFAULT now(),
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_health_metrics PRIMARY KEY (id),
    CONSTRAINT fk_health_metrics_business_id FOREIGN KEY (business_id)
    REFERENCES companies (id) ON DELETE CASCADE,
    CONSTRAINT ck_health_metrics_overall_score CHECK (overall_score BETWEEN 0 AND 100),
    CONSTRAINT ck_health_metrics_financial_score CHECK (
        financial_score BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_health_metrics_growth_score CHECK (growth_score BETWEEN 0 AND 100),
    CONSTRAINT ck_health_metrics_operational_score CHECK (
        operational_score BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_health_metrics_market_score CHECK (market_score BETWEEN 0 AND 100),
    CONSTRAINT ck_health_metrics_confidence CHECK (confidence BETWEEN 0 AND 1)
);

CREATE INDEX idx_health_metrics_business_calculated
ON health_metrics (business_id, calculated_at DESC);

CREATE TRIGGER update_health_metrics_updated_at BEFORE UPDATE ON health_metrics
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
