-- ValuAI's core models that seed 000 names but does not define: valuations,
-- file_uploads and reports. valuations carries what 000's company_performance view
-- and its idx_valuations_date index need (final_valuation, confidence_score,
-- valuation_date). Foreign keys into valuations are ON DELETE SET NULL because
-- archive_valuations() (0034) moves old valuations out of this table.

CREATE TABLE valuations (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    company_id uuid NOT NULL,
    user_id uuid,
    valuation_method varchar(50),
    valuation_date date NOT NULL DEFAULT current_date,
    low_valuation numeric(15, 2),
    high_valuation numeric(15, 2),
    final_valuation numeric(15, 2),
    confidence_score numeric(5, 4),
    currency varchar(3) DEFAULT 'USD',
    inputs jsonb DEFAULT '{}',
    notes text,
    status varchar(20) DEFAULT 'draft',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_valuations PRIMARY KEY (id),
    CONSTRAINT fk_valuations_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id),
    CONSTRAINT fk_valuations_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT ck_valuations_confidence_score CHECK (
        confidence_score BETWEEN 0 AND 1
    ),
    CONSTRAINT ck_valuations_range CHECK (low_valuation <= high_valuation)
);

CREATE INDEX idx_valuations_date ON valuations (valuation_date);
CREATE INDEX idx_valuations_company_id ON valuations (company_id);
CREATE INDEX idx_valuations_user_id ON valuations (user_id);

CREATE TABLE file_uploads (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    company_id uuid,
    filename varchar(255) NOT NULL,
    content_type varchar(100),
    file_type varchar(50),
    file_size bigint,
    storage_path varchar(500),
    processing_status varchar(20) DEFAULT 'pending',
    parsed_data jsonb,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_file_uploads PRIMARY KEY (id),
    CONSTRAINT fk_file_uploads_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT fk_file_uploads_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id),
    CONSTRAINT ck_file_uploads_file_size CHECK (file_size >= 0)
);

CREATE INDEX idx_file_uploads_user_id ON file_uploads (user_id);
CREATE INDEX idx_file_uploads_company_id ON file_uploads (company_id);

CREATE TABLE reports (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    company_id uuid,
    valuation_id uuid,
    report_type varchar(50) NOT NULL,
    title varchar(255),
    format varchar(10) DEFAULT 'pdf',
    file_path varchar(500),
    status varchar(20) DEFAULT 'pending',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_reports PRIMARY KEY (id),
    CONSTRAINT fk_reports_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT fk_reports_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id),
    CONSTRAINT fk_reports_valuation_id FOREIGN KEY (valuation_id)
    REFERENCES valuations (id) ON DELETE SET NULL
);

CREATE INDEX idx_reports_user_id ON reports (user_id);
CREATE INDEX idx_reports_company_id ON reports (company_id);
CREATE INDEX idx_reports_valuation_id ON reports (valuation_id);

CREATE TRIGGER update_valuations_updated_at BEFORE UPDATE ON valuations
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_file_uploads_updated_at BEFORE UPDATE ON file_uploads
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_reports_updated_at BEFORE UPDATE ON reports
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
