-- ValuAI phase 1 (core analytics): valuation analytics and market benchmarks.
-- 000's SERIAL/INTEGER keys become UUIDs like every other key of the schema.

CREATE TABLE valuation_analytics (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    company_id uuid,
    metric_name varchar(100),
    metric_value numeric(20, 4),
    benchmark_value numeric(20, 4),
    industry_percentile numeric(5, 2),
    calculated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_valuation_analytics PRIMARY KEY (id),
    CONSTRAINT fk_valuation_analytics_user_id FOREIGN KEY (user_id)
    REFERENCES users (id),
    CONSTRAINT fk_valuation_analytics_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id),
    CONSTRAINT ck_valuation_analytics_industry_percentile CHECK (
        industry_percentile BETWEEN 0 AND 100
    )
);

CREATE INDEX idx_valuation_analytics_user_id ON valuation_analytics (user_id);
CREATE INDEX idx_valuation_analytics_company_id
ON valuation_analytics (company_id, metric_name);

CREATE TABLE market_benchmarks (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    industry varchar(50),
    metric_name varchar(100),
    avg_value numeric(20, 4),
    median_value numeric(20, 4),
    p75_value numeric(20, 4),
    p90_value numeric(20, 4),
    last_updated timestamptz DEFAULT now(),
    CONSTRAINT pk_market_benchmarks PRIMARY KEY (id),
    CONSTRAINT uq_market_benchmarks_industry_metric UNIQUE (industry, metric_name)
);
