-- The merged companies table: 000 (ValuAI companies: name, revenue, growth_rate,
-- industry), 001 (Auxeira companies, the full definition) and 002 (GoodBuy businesses,
-- owned by a user through owner_id = companies.user_id; see the businesses view in 0007).

CREATE TABLE companies (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    industry VARCHAR(100),
    stage VARCHAR(50),
    current_valuation NUMERIC(15, 2),
    previous_valuation NUMERIC(15, 2),
    funding_raised NUMERIC(15, 2),
    -- 000's company_performance view reads revenue; no seed defined its type.
    revenue NUMERIC(15, 2),
    mrr NUMERIC(12, 2),
    arr NUMERIC(12, 2),
    employees INTEGER,
    burn_rate NUMERIC(12, 2),
    runway_months INTEGER,
    sse_score INTEGER,
    sse_score_history JSONB DEFAULT '[]',
    growth_rate NUMERIC(5, 2),
    churn_rate NUMERIC(5, 2),
    gross_margin NUMERIC(5, 2),
    location VARCHAR(255),
    founded_date DATE,
    website VARCHAR(255),
    logo_url VARCHAR(500),
    is_synthetic BOOLEAN DEFAULT FALSE,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_companies PRIMARY KEY (id),
    CONSTRAINT fk_companies_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT ck_companies_sse_score CHECK (sse_score BETWEEN 0 AND 100)
);

CREATE INDEX idx_companies_industry ON companies (industry);
CREATE INDEX idx_companies_user_id ON companies (user_id);
CREATE INDEX idx_companies_industry_stage ON companies (industry, stage);
CREATE INDEX idx_companies_name_trgm ON companies USING gin (name gin_trgm_ops);

CREATE TRIGGER update_companies_updated_at BEFORE UPDATE ON companies
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
