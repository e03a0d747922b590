-- Auxeira (001): token rewards, analytics events and subscription events (append-only
-- logs: no updated_at column, so no updated_at trigger).

CREATE TABLE token_transactions (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID,
    transaction_type VARCHAR(50),
    amount INTEGER,
    multiplier NUMERIC(3, 2) DEFAULT 1.0,
    reason VARCHAR(255),
    activity_type VARCHAR(100),
    streak_count INTEGER DEFAULT 0,
    quality_score INTEGER,
    region_multiplier NUMERIC(3, 2) DEFAULT 1.0,
    stage_multiplier NUMERIC(3, 2) DEFAULT 1.0,
    consistency_multiplier NUMERIC(3, 2) DEFAULT 1.0,
    total_tokens_after INTEGER,
    is_synthetic BOOLEAN DEFAULT FALSE,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_token_transactions PRIMARY KEY (id),
    CONSTRAINT fk_token_transactions_user_id FOREIGN KEY (user_id)
    REFERENCES users (id),
    CONSTRAINT ck_token_transactions_quality_score CHECK (
        quality_score BETWEEN 0 AND 100
    )
);

CREATE INDEX idx_token_transactions_user ON token_transactions (user_id, created_at);

CREATE TABLE analytics_events (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID,
    event_type VARCHAR(100) NOT NULL,
    event_category VARCHAR(50),
    event_data JSONB,
    dashboard_type VARCHAR(50),
    feature_name VARCHAR(100),
    session_id VARCHAR(255),
    ip_address INET,
    user_agent TEXT,
    referrer VARCHAR(500),
    utm_source VARCHAR(100),
    utm_medium VARCHAR(100),
    utm_campaign VARCHAR(100),
    device_type VARCHAR(50),
    browser VARCHAR(50),
    os VARCHAR(50),
    country VARCHAR(100),
    city VARCHAR(100),
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_analytics_events PRIMARY KEY (id),
    CONSTRAINT fk_analytics_events_user_id FOREIGN KEY (user_id)
    REFERENCES users (id)
);

CREATE INDEX idx_analytics_events_user_type ON analytics_events (user_id, event_type);
CREATE INDEX idx_analytics_events_dashboard
ON analytics_events (dashboard_type, created_at);

CREATE TABLE subscription_events (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID,
    event_type VARCHAR(50),
    old_tier VARCHAR(50),
    new_tier VARCHAR(50),
    amount NUMERIC(10, 2),
    currency VARCHAR(3) DEFAULT 'USD',
    payment_provider VARCHAR(50),
    payment_reference VARCHAR(255),
    billing_cycle VARCHAR(20),
    trial_days INTEGER,
    grace_period_days INTEGER,
    next_billing_date DATE,
    cancellation_reason VARCHAR(255),
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_subscription_events PRIMARY KEY (id),
    CONSTRAINT fk_subscription_events_user_id FOREIGN KEY (user_id)
    REFERENCES users (id)
);

CREATE INDEX idx_subscription_events_user ON subscription_events (user_id, event_type);

-- Row-level security (seed 002's "row-level security for subscription data"; roles
-- from 0001): the application sees only the current user's subscription events.
GRANT SELECT, INSERT, UPDATE, DELETE ON subscription_events TO dbkit_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON subscription_events TO dbkit_billing_admin;

ALTER TABLE subscription_events ENABLE ROW LEVEL SECURITY;

CREATE POLICY pol_subscription_events_own_rows ON subscription_events
FOR ALL TO dbkit_app
USING (user_id = app_current_user_id())
WITH CHECK (user_id = app_current_user_id());
CREATE POLICY pol_subscription_events_billing_admin ON subscription_events
FOR ALL TO dbkit_billing_admin
USING (TRUE)
WITH CHECK (TRUE);
