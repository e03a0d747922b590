-- Auxeira (001): investments with performance tracking.

CREATE TABLE investments (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    investor_id uuid,
    company_id uuid,
    investment_round varchar(50),
    amount numeric(15, 2),
    equity_percentage numeric(5, 2),
    pre_money_valuation numeric(15, 2),
    post_money_valuation numeric(15, 2),
    investment_date date,
    current_valuation numeric(15, 2),
    paper_return numeric(15, 2),
    realized_return numeric(15, 2),
    irr numeric(5, 2),
    moic numeric(5, 2),
    tvpi numeric(5, 2),
    dpi numeric(5, 2),
    status varchar(50) DEFAULT 'active',
    exit_date date,
    exit_valuation numeric(15, 2),
    exit_multiple numeric(5, 2),
    board_seat boolean DEFAULT FALSE,
    lead_investor boolean DEFAULT FALSE,
    follow_on_rights boolean DEFAULT FALSE,
    liquidation_preference varchar(50) DEFAULT '1x',
    anti_dilution varchar(50) DEFAULT 'weighted-average',
    is_synthetic boolean DEFAULT FALSE,
    expires_at timestamptz,
    created_at timestamptz DEFAULT current_timestamp,
    updated_at timestamptz DEFAULT current_timestamp,
    CONSTRAINT pk_investments PRIMARY KEY (id),
    CONSTRAINT fk_investments_investor_id FOREIGN KEY (investor_id)
    REFERENCES users (id),
    CONSTRAINT fk_investments_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id),
    CONSTRAINT ck_investments_equity_percentage CHECK (
        equity_percentage BETWEEN 0 AND 100
    )
);

CREATE INDEX idx_investments_investor_id ON investments (investor_id);
CREATE INDEX idx_investments_company_id ON investments (company_id);

CREATE TRIGGER update_investments_updated_at BEFORE UPDATE ON investments
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
