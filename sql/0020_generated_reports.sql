-- GoodBuy HQ (002) phase 4, professional reporting: generated report files with their
-- storage metadata and branding configuration.

CREATE TABLE generated_reports (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL,
    business_id UUID,
    portfolio_id UUID,
    report_type TEXT NOT NULL,
    template_used TEXT,
    branding_config JSONB,
    file_path TEXT,
    file_size INTEGER,
    generation_time_ms INTEGER,
    created_at TIMESTAMPTZ DEFAULT now(),
    expires_at TIMESTAMPTZ,
    CONSTRAINT pk_generated_reports PRIMARY KEY (id),
    CONSTRAINT fk_generated_reports_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT fk_generated_reports_business_id FOREIGN KEY (business_id)
    REFERENCES companies (id),
    CONSTRAINT fk_generated_reports_portfolio_id FOREIGN KEY (portfolio_id)
    REFERENCES portfolios (id),
    CONSTRAINT ck_generated_reports_file_size CHECK (file_size >= 0),
    CONSTRAINT ck_generated_reports_generation_time_ms CHECK (generation_time_ms >= 0)
);

CREATE INDEX idx_generated_reports_user_id ON generated_reports (user_id, created_at DESC);
CREATE INDEX idx_generated_reports_business_id ON generated_reports (business_id);
CREATE INDEX idx_generated_reports_portfolio_id ON generated_reports (portfolio_id);
