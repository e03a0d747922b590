-- Auxeira (001): token rewards, analytics events and subscription events (append-only
-- logs: no updated_at column, so no updated_at trigger).

CREATE TABLE token_transactions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    transaction_type varchar(50),
    amount integer,
    multiplier numeric(3, 2) DEFAULT 1.0,
    reason varchar(255),
    activity_type varchar(100),
    streak_count integer DEFAULT 0,
    quality_score integer,
    region_multiplier numeric(3, 2) DEFAULT 1.0,
    stage_multiplier numeric(3, 2) DEFAULT 1.0,
    consistency_multiplier numeric(3, 2) DEFAULT 1.0,
    total_tokens_after integer,
    is_synthetic boolean DEFAULT FALSE,
    expires_at timestamptz,
    created_at timestamptz DEFAULT current_timestamp,
    CONSTRAINT pk_token_transactions PRIMARY KEY (id),
    CONSTRAINT fk_token_transactions_user_id FOREIGN KEY (user_id)
    REFERENCES users (id),
    CONSTRAINT ck_token_transactions_quality_score CHECK (
        quality_score BETWEEN 0 AND 100
    )
);

CREATE INDEX idx_token_transactions_user ON token_transactions (user_id, created_at);

CREATE TABLE analytics_events (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    event_type varchar(100) NOT NULL,
    event_category varchar(50),
    event_data jsonb,
    dashboard_type varchar(50),
    feature_name varchar(100),
    session_id varchar(255),
    ip_address inet,
    user_agent text,
    referrer varchar(500),
    utm_source varchar(100),
    utm_medium varchar(100),
    utm_campaign varchar(100),
    device_type varchar(50),
    browser varchar(50),
    os varchar(50),
    country varchar(100),
    city varchar(100),
    created_at timestamptz DEFAULT current_timestamp,
    CONSTRAINT pk_analytics_events PRIMARY KEY (id),
    CONSTRAINT fk_analytics_events_user_id FOREIGN KEY (user_id)
    REFERENCES users (id)
);

CREATE INDEX idx_analytics_events_user_type ON analytics_events (user_id, event_type);
CREATE INDEX idx_analytics_events_dashboard
ON analytics_events (dashboard_type, created_at);

CREATE TABLE subscription_events (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    event_type varchar(50),
    old_tier varchar(50),
    new_tier varchar(50),
    amount numeric(10, 2),
    currency varchar(3) DEFAULT 'USD',
    payment_provider varchar(50),
    payment_reference varchar(255),
    billing_cycle varchar(20),
    trial_days integer,
    grace_period_days integer,
    next_billing_date date,
    cancellation_reason varchar(255),
    created_at timestamptz DEFAULT current_timestamp,
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
