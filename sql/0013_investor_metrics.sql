-- Auxeira (001): portfolio, ESG, economic-impact and partnership metrics.
-- portfolio_metrics gains company_id, current_valuation and growth_rate: 001's own
-- startup dashboard query reads them, but 001's table definition lacked them.

CREATE TABLE portfolio_metrics (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    investor_id UUID,
    company_id UUID,
    metric_date DATE NOT NULL,
    total_invested NUMERIC(15, 2),
    total_portfolio_value NUMERIC(15, 2),
    unrealized_gains NUMERIC(15, 2),
    realized_gains NUMERIC(15, 2),
    portfolio_irr NUMERIC(5, 2),
    portfolio_moic NUMERIC(5, 2),
    active_investments INTEGER,
    exited_investments INTEGER,
    written_off_investments INTEGER,
    top_quartile_count INTEGER,
    unicorn_count INTEGER,
    current_valuation NUMERIC(15, 2),
    growth_rate NUMERIC(5, 2),
    is_synthetic BOOLEAN DEFAULT FALSE,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
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
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    company_id UUID,
    metric_date DATE NOT NULL,
    environmental_score INTEGER,
    social_score INTEGER,
    governance_score INTEGER,
    overall_esg_score INTEGER,
    carbon_footprint NUMERIC(12, 2),
    energy_consumption NUMERIC(12, 2),
    renewable_energy_percentage NUMERIC(5, 2),
    water_usage NUMERIC(12, 2),
    waste_generated NUMERIC(12, 2),
    employees_trained INTEGER,
    diversity_score INTEGER,
    gender_pay_gap NUMERIC(5, 2),
    board_diversity_score INTEGER,
    compliance_score INTEGER,
    transparency_score INTEGER,
    is_synthetic BOOLEAN DEFAULT FALSE,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
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
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    company_id UUID,
    metric_date DATE NOT NULL,
    jobs_created INTEGER,
    jobs_supported INTEGER,
    tax_revenue_generated NUMERIC(15, 2),
    economic_multiplier NUMERIC(5, 2),
    gdp_contribution NUMERIC(15, 2),
    export_revenue NUMERIC(15, 2),
    r_and_d_spending NUMERIC(15, 2),
    patents_filed INTEGER,
    local_supplier_spend NUMERIC(15, 2),
    community_investment NUMERIC(15, 2),
    is_synthetic BOOLEAN DEFAULT FALSE,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_economic_impact PRIMARY KEY (id),
    CONSTRAINT fk_economic_impact_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id)
);

CREATE INDEX idx_economic_impact_company_date
ON economic_impact (company_id, metric_date);

CREATE TABLE corporate_partnerships (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    corporate_partner_id UUID,
    startup_id UUID,
    partnership_type VARCHAR(100),
    partnership_value NUMERIC(15, 2),
    partnership_status VARCHAR(50),
    start_date DATE,
    end_date DATE,
    success_metrics JSONB,
    roi_achieved NUMERIC(5, 2),
    renewal_probability NUMERIC(5, 2),
    is_synthetic BOOLEAN DEFAULT FALSE,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
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
