-- GoodBuy HQ (002) phase 4, professional reporting: generated report files with their
-- storage metadata and branding configuration.

CREATE TABLE generated_reports (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    business_id uuid,
    portfolio_id uuid,
    report_type text NOT NULL,
    template_used text,
    branding_config jsonb,
    file_path text,
    file_size integer,
    generation_time_ms integer,
    created_at timestamptz DEFAULT now(),
    expires_at timestamptz,
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
