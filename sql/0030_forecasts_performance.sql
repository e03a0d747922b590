-- LeadAI Pro (004): forecasts and user/team performance metrics.

CREATE TABLE forecasts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid,
    forecast_type forecast_type NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    granularity varchar(20) DEFAULT 'monthly',
    predicted_value numeric(15, 2) NOT NULL,
    confidence_lower numeric(15, 2),
    confidence_upper numeric(15, 2),
    model_version varchar(50) NOT NULL,
    key_drivers jsonb DEFAULT '[]',
    scenarios jsonb DEFAULT '{}',
    created_at timestamptz DEFAULT now(),
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
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    team_id uuid,
    period_start date NOT NULL,
    period_end date NOT NULL,
    leads_created integer DEFAULT 0,
    leads_qualified integer DEFAULT 0,
    leads_converted integer DEFAULT 0,
    revenue_generated numeric(15, 2) DEFAULT 0,
    activities_completed integer DEFAULT 0,
    conversion_rate numeric(5, 4),
    average_deal_size numeric(15, 2),
    sales_velocity numeric(10, 2),
    created_at timestamptz DEFAULT now(),
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
