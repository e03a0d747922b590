-- LeadAI Pro (004): forecasts and user/team performance metrics.

CREATE TABLE forecasts (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    organization_id UUID,
    forecast_type FORECAST_TYPE NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    granularity VARCHAR(20) DEFAULT 'monthly',
    predicted_value NUMERIC(15, 2) NOT NULL,
    confidence_lower NUMERIC(15, 2),
    confidence_upper NUMERIC(15, 2),
    model_version VARCHAR(50) NOT NULL,
    key_drivers JSONB DEFAULT '[]',
    scenarios JSONB DEFAULT '{}',
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_forecasts PRIMARY KEY (id),
    CONSTRAINT fk_forecasts_organization_id FOREIGN KEY (organization_id)
    REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_forecasts_period CHECK (period_end >= period_start),
    CONSTRAINT ck_forecasts_confidence_interval CHECK (
        confidence_lower <= confidence_upper
    )
);

CREATE INDEX idx_forecasts_organization_period
ON forecasts (organization_id, forecast_type, period_start);

CREATE TABLE performance_metrics (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID,
    team_id UUID,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    leads_created INTEGER DEFAULT 0,
    leads_qualified INTEGER DEFAULT 0,
    leads_converted INTEGER DEFAULT 0,
    revenue_generated NUMERIC(15, 2) DEFAULT 0,
    activities_completed INTEGER DEFAULT 0,
    conversion_rate NUMERIC(5, 4),
    average_deal_size NUMERIC(15, 2),
    sales_velocity NUMERIC(10, 2),
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_performance_metrics PRIMARY KEY (id),
    CONSTRAINT fk_performance_metrics_user_id FOREIGN KEY (user_id)
    REFERENCES users (id),
    CONSTRAINT fk_performance_metrics_team_id FOREIGN KEY (team_id)
    REFERENCES teams (id),
    CONSTRAINT ck_performance_metrics_period CHECK (period_end >= period_start),
    CONSTRAINT ck_performance_metrics_conversion_rate CHECK (
        conversion_rate BETWEEN 0 AND 1
    )
);

CREATE INDEX idx_performance_metrics_user_period
ON performance_metrics (user_id, period_start);
CREATE INDEX idx_performance_metrics_team_period
ON performance_metrics (team_id, period_start);
