-- Auxeira (001): investments with performance tracking.

CREATE TABLE investments (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    investor_id UUID,
    company_id UUID,
    investment_round VARCHAR(50),
    amount NUMERIC(15, 2),
    equity_percentage NUMERIC(5, 2),
    pre_money_valuation NUMERIC(15, 2),
    post_money_valuation NUMERIC(15, 2),
    investment_date DATE,
    current_valuation NUMERIC(15, 2),
    paper_return NUMERIC(15, 2),
    realized_return NUMERIC(15, 2),
    irr NUMERIC(5, 2),
    moic NUMERIC(5, 2),
    tvpi NUMERIC(5, 2),
    dpi NUMERIC(5, 2),
    status VARCHAR(50) DEFAULT 'active',
    exit_date DATE,
    exit_valuation NUMERIC(15, 2),
    exit_multiple NUMERIC(5, 2),
    board_seat BOOLEAN DEFAULT FALSE,
    lead_investor BOOLEAN DEFAULT FALSE,
    follow_on_rights BOOLEAN DEFAULT FALSE,
    liquidation_preference VARCHAR(50) DEFAULT '1x',
    anti_dilution VARCHAR(50) DEFAULT 'weighted-average',
    is_synthetic BOOLEAN DEFAULT FALSE,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
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
