-- Auxeira (001): portfolio, ESG, economic-impact and partnership metrics.
-- portfolio_metrics gains company_id, current_valuation and growth_rate: 001's own
-- startup dashboard query reads them, but 001's table definition lacked them.

CREATE TABLE portfolio_metrics (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    investor_id uuid,
    company_id uuid,
    metric_date date NOT NULL,
    total_invested numeric(15, 2),
    total_portfolio_value numeric(15, 2),
    unrealized_gains numeric(15, 2),
    realized_gains numeric(15, 2),
    portfolio_irr numeric(5, 2),
    portfolio_moic numeric(5, 2),
    active_investments integer,
    exited_investments integer,
    written_off_investments integer,
    top_quartile_count integer,
    unicorn_count integer,
    current_valuation numeric(15, 2),
    growth_rate numeric(5, 2),
    is_synthetic boolean DEFAULT FALSE,
    expires_at timestamptz,
    created_at timestamptz DEFAULT current_timestamp,
    updated_at timestamptz DEFAULT current_timestamp,
    CONSTRAINT pk_portfolio_metrics PRIMARY KEY (id),
    CONSTRAINT fk_portfolio_metrics_investor_id FOREIGN KEY (investor_id)
    REFERENCES users (id),
    CONSTRAINT fk_portfolio_metrics_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id)
);

CREATE INDEX idx_portfolio_metrics_investor_date
ON portfolio_metrics (investor_id, metric_date);
CREATE INDEX idx_portfolio_metrics_company_date
ON portfolio_metrics (company_id, metric_date DESC);

CREATE TABLE esg_metrics (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    company_id uuid,
    metric_date date NOT NULL,
    environmental_score integer,
    social_score integer,
    governance_score integer,
    overall_esg_score integer,
    carbon_footprint numeric(12, 2),
    energy_consumption numeric(12, 2),
    renewable_energy_percentage numeric(5, 2),
    water_usage numeric(12, 2),
    waste_generated numeric(12, 2),
    employees_trained integer,
    diversity_score integer,
    gender_pay_gap numeric(5, 2),
    board_diversity_score integer,
    compliance_score integer,
    transparency_score integer,
    is_synthetic boolean DEFAULT FALSE,
    expires_at timestamptz,
    created_at timestamptz DEFAULT current_timestamp,
    updated_at timestamptz DEFAULT current_timestamp,
    CONSTRAINT pk_esg_metrics PRIMARY KEY (id),
    CONSTRAINT fk_esg_metrics_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id),
    CONSTRAINT ck_esg_metrics_environmental_score CHECK (
        environmental_score BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_esg_metrics_social_score CHECK (social_score BETWEEN 0 AND 100),
    CONSTRAINT ck_esg_metrics_governance_score CHECK (
        governance_score BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_esg_metrics_overall_esg_score CHECK (
        overall_esg_score BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_esg_metrics_renewable_energy_percentage CHECK (
        renewable_energy_percentage BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_esg_metrics_diversity_score CHECK (diversity_score BETWEEN 0 AND 100),
    CONSTRAINT ck_esg_metrics_board_diversity_score CHECK (
        board_diversity_score BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_esg_metrics_compliance_score CHECK (
        compliance_score BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_esg_metrics_transparency_score CHECK (
        transparency_score BETWEEN 0 AND 100
    )
);

CREATE INDEX idx_esg_metrics_company_date ON esg_metrics (company_id, metric_date);

CREATE TABLE economic_impact (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    company_id uuid,
    metric_date date NOT NULL,
    jobs_created integer,
    jobs_supported integer,
    tax_revenue_generated numeric(15, 2),
    economic_multiplier numeric(5, 2),
    gdp_contribution numeric(15, 2),
    export_revenue numeric(15, 2),
    r_and_d_spending numeric(15, 2),
    patents_filed integer,
    local_supplier_spend numeric(15, 2),
    community_investment numeric(15, 2),
    is_synthetic boolean DEFAULT FALSE,
    expires_at timestamptz,
    created_at timestamptz DEFAULT current_timestamp,
    updated_at timestamptz DEFAULT current_timestamp,
    CONSTRAINT pk_economic_impact PRIMARY KEY (id),
    CONSTRAINT fk_economic_impact_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id)
);

CREATE INDEX idx_economic_impact_company_date
ON economic_impact (company_id, metric_date);

CREATE TABLE corporate_partnerships (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    corporate_partner_id uuid,
    startup_id uuid,
    partnership_type varchar(100),
    partnership_value numeric(15, 2),
    partnership_status varchar(50),
    start_date date,
    end_date date,
    success_metrics jsonb,
    roi_achieved numeric(5, 2),
    renewal_probability numeric(5, 2),
    is_synthetic boolean DEFAULT FALSE,
    expires_at timestamptz,
    created_at timestamptz DEFAULT current_timestamp,
    updated_at timestamptz DEFAULT current_timestamp,
    CONSTRAINT pk_corporate_partnerships PRIMARY KEY (id),
    CONSTRAINT fk_corporate_partnerships_corporate_partner_id
    FOREIGN KEY (corporate_partner_id) REFERENCES users (id),
    CONSTRAINT fk_corporate_partnerships_startup_id FOREIGN KEY (startup_id)
    REFERENCES companies (id),
    CONSTRAINT ck_corporate_partnerships_renewal_probability CHECK (
        renewal_probability BETWEEN 0 AND 1
    ),
    CONSTRAINT ck_corporate_partnerships_dates CHECK (end_date >= start_date)
);

CREATE INDEX idx_corporate_partnerships_corporate_partner_id
ON corporate_partnerships (corporate_partner_id);
CREATE INDEX idx_corporate_partnerships_startup_id
ON corporate_partnerships (startup_id);

CREATE TRIGGER update_portfolio_metrics_updated_at BEFORE UPDATE ON portfolio_metrics
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_esg_metrics_updated_at BEFORE UPDATE ON esg_metrics
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_economic_impact_updated_at BEFORE UPDATE ON economic_impact
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_corporate_partnerships_updated_at
BEFORE UPDATE ON corporate_partnerships
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
