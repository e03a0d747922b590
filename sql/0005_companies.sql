-- The merged companies table: 000 (ValuAI companies: name, revenue, growth_rate,
-- industry), 001 (Auxeira companies, the full definition) and 002 (GoodBuy businesses,
-- owned by a user through owner_id = companies.user_id; see the businesses view in 0007).

CREATE TABLE companies (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    name varchar(255) NOT NULL,
    description text,
    industry varchar(100),
    stage varchar(50),
    current_valuation numeric(15, 2),
    previous_valuation numeric(15, 2),
    funding_raised numeric(15, 2),
    -- 000's company_performance view reads revenue; no seed defined its type.
    revenue numeric(15, 2),
    mrr numeric(12, 2),
    arr numeric(12, 2),
    employees integer,
    burn_rate numeric(12, 2),
    runway_months integer,
    sse_score integer,
    sse_score_history jsonb DEFAULT '[]',
    growth_rate numeric(5, 2),
    churn_rate numeric(5, 2),
    gross_margin numeric(5, 2),
    location varchar(255),
    founded_date date,
    website varchar(255),
    logo_url varchar(500),
    is_synthetic boolean DEFAULT FALSE,
    expires_at timestamptz,
    created_at timestamptz DEFAULT current_timestamp,
    updated_at timestamptz DEFAULT current_timestamp,
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
