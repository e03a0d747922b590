-- Commerce (003): AI marketing content, campaigns, A/B tests and market intelligence.

CREATE TABLE marketing_content (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    product_id UUID,
    type VARCHAR(50),
    platform VARCHAR(50),
    content TEXT,
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_marketing_content PRIMARY KEY (id),
    CONSTRAINT fk_marketing_content_product_id FOREIGN KEY (product_id)
    REFERENCES products (id)
);

CREATE INDEX idx_marketing_content_product_id ON marketing_content (product_id);

CREATE TABLE campaigns (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    type VARCHAR(50),
    target_segment VARCHAR(100),
    budget NUMERIC(10, 2),
    start_date TIMESTAMPTZ,
    end_date TIMESTAMPTZ,
    channels JSONB,
    status VARCHAR(20),
    conversions INTEGER DEFAULT 0,
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_campaigns PRIMARY KEY (id),
    CONSTRAINT ck_campaigns_budget CHECK (budget >= 0),
    CONSTRAINT ck_campaigns_dates CHECK (end_date >= start_date)
);

CREATE TABLE ab_tests (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description TEXT,
    variant_a JSONB,
    variant_b JSONB,
    metric VARCHAR(50),
    target_users INTEGER,
    status VARCHAR(20),
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_ab_tests PRIMARY KEY (id)
);

CREATE TABLE ab_test_results (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    test_id UUID,
    variant VARCHAR(1),
    converted BOOLEAN,
    revenue NUMERIC(10, 2),
    engagement_score NUMERIC(5, 2),
    timestamp TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_ab_test_results PRIMARY KEY (id),
    CONSTRAINT fk_ab_test_results_test_id FOREIGN KEY (test_id)
    REFERENCES ab_tests (id),
    CONSTRAINT ck_ab_test_results_engagement_score CHECK (
        engagement_score BETWEEN 0 AND 100
    )
);

CREATE INDEX idx_ab_test_results_test_id ON ab_test_results (test_id, variant);

CREATE TABLE competitor_analysis (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    analysis JSONB,
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_competitor_analysis PRIMARY KEY (id)
);

CREATE TABLE market_trends (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    trends JSONB,
    detected_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_market_trends PRIMARY KEY (id)
);
