-- Commerce (003): AI marketing content, campaigns, A/B tests and market intelligence.

CREATE TABLE marketing_content (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    product_id uuid,
    type varchar(50),
    platform varchar(50),
    content text,
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_marketing_content PRIMARY KEY (id),
    CONSTRAINT fk_marketing_content_product_id FOREIGN KEY (product_id)
    REFERENCES products (id)
);

CREATE INDEX idx_marketing_content_product_id ON marketing_content (product_id);

CREATE TABLE campaigns (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(255) NOT NULL,
    type varchar(50),
    target_segment varchar(100),
    budget numeric(10, 2),
    start_date timestamptz,
    end_date timestamptz,
    channels jsonb,
    status varchar(20),
    conversions integer DEFAULT 0,
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_campaigns PRIMARY KEY (id),
    CONSTRAINT ck_campaigns_budget CHECK (budget >= 0),
    CONSTRAINT ck_campaigns_dates CHECK (end_date >= start_date)
);

CREATE TABLE ab_tests (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(255) NOT NULL,
    description text,
    variant_a jsonb,
    variant_b jsonb,
    metric varchar(50),
    target_users integer,
    status varchar(20),
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_ab_tests PRIMARY KEY (id)
);

CREATE TABLE ab_test_results (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    test_id uuid,
    variant varchar(1),
    converted boolean,
    revenue numeric(10, 2),
    engagement_score numeric(5, 2),
    timestamp timestamptz DEFAULT now(),
    CONSTRAINT pk_ab_test_results PRIMARY KEY (id),
    CONSTRAINT fk_ab_test_results_test_id FOREIGN KEY (test_id)
    REFERENCES ab_tests (id),
    CONSTRAINT ck_ab_test_results_engagement_score CHECK (
        engagement_score BETWEEN 0 AND 100
    )
);

CREATE INDEX idx_ab_test_results_test_id ON ab_test_results (test_id, variant);

CREATE TABLE competitor_analysis (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    analysis jsonb,
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_competitor_analysis PRIMARY KEY (id)
);

CREATE TABLE market_trends (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    trends jsonb,
    detected_at timestamptz DEFAULT now(),
    CONSTRAINT pk_market_trends PRIMARY KEY (id)
);
