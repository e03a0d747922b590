-- GoodBuy HQ (002) phase 3, AI enhancement: analysis sessions and portfolios.
-- business_id columns reference companies (002's businesses are companies).

CREATE TABLE ai_analysis_sessions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    business_id uuid NOT NULL,
    session_type text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    progress_percentage integer DEFAULT 0,
    streaming_data jsonb,
    results jsonb,
    confidence_score integer,
    processing_time_ms integer,
    created_at timestamptz DEFAULT now(),
    completed_at timestamptz,
    CONSTRAINT pk_ai_analysis_sessions PRIMARY KEY (id),
    CONSTRAINT fk_ai_analysis_sessions_user_id FOREIGN KEY (user_id)
    REFERENCES users (id),
    CONSTRAINT fk_ai_analysis_sessions_business_id FOREIGN KEY (business_id)
    REFERENCES companies (id),
    CONSTRAINT ck_ai_analysis_sessions_progress_percentage CHECK (
        progress_percentage BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_ai_analysis_sessions_confidence_score CHECK (
        confidence_score BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_ai_analysis_sessions_processing_time_ms CHECK (
        processing_time_ms >= 0
    )
);

-- user_id is indexed by idx_ai_sessions_user_status, built CONCURRENTLY in 0019.
CREATE INDEX idx_ai_analysis_sessions_business_id
ON ai_analysis_sessions (business_id);

CREATE TABLE portfolios (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    name text NOT NULL,
    description text,
    is_default boolean DEFAULT FALSE,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_portfolios PRIMARY KEY (id),
    CONSTRAINT fk_portfolios_user_id FOREIGN KEY (user_id) REFERENCES users (id)
);

-- user_id is indexed by idx_portfolios_user_default, built CONCURRENTLY in 0019.

CREATE TABLE portfolio_businesses (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL,
    business_id uuid NOT NULL,
    added_at timestamptz DEFAULT now(),
    notes text,
    CONSTRAINT pk_portfolio_businesses PRIMARY KEY (id),
    CONSTRAINT fk_portfolio_businesses_portfolio_id FOREIGN KEY (portfolio_id)
    REFERENCES portfolios (id) ON DELETE CASCADE,
    CONSTRAINT fk_portfolio_businesses_business_id FOREIGN KEY (business_id)
    REFERENCES companies (id) ON DELETE CASCADE,
    CONSTRAINT uq_portfolio_businesses_portfolio_business UNIQUE (
        portfolio_id, business_id
    )
);

CREATE INDEX idx_portfolio_businesses_business_id
ON portfolio_businesses (business_id);

CREATE TRIGGER update_portfolios_updated_at BEFORE UPDATE ON portfolios
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
