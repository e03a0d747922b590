-- LeadAI Pro (004): lead scores with explanations, AI insights, journey events.

CREATE TABLE lead_scores (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    lead_id UUID,
    score INTEGER NOT NULL,
    confidence NUMERIC(3, 2) NOT NULL,
    model_version VARCHAR(50) NOT NULL,
    demographic_score INTEGER,
    behavioral_score INTEGER,
    temporal_score INTEGER,
    conversational_score INTEGER,
    explanation JSONB NOT NULL,
    recommendations JSONB DEFAULT '[]',
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_lead_scores PRIMARY KEY (id),
    CONSTRAINT fk_lead_scores_lead_id FOREIGN KEY (lead_id)
    REFERENCES leads (id) ON DELETE CASCADE,
    CONSTRAINT ck_lead_scores_score CHECK (score BETWEEN 0 AND 100),
    CONSTRAINT ck_lead_scores_confidence CHECK (confidence BETWEEN 0 AND 1),
    CONSTRAINT ck_lead_scores_demographic_score CHECK (
        demographic_score BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_lead_scores_behavioral_score CHECK (
        behavioral_score BETWEEN 0 AND 100
    ),
    CONSTRAINT ck_lead_scores_temporal_score CHECK (temporal_score BETWEEN 0 AND 100),
    CONSTRAINT ck_lead_scores_conversational_score CHECK (
        conversational_score BETWEEN 0 AND 100
    )
);

CREATE INDEX idx_lead_scores_lead_id_created ON lead_scores (lead_id, created_at DESC);

CREATE TABLE ai_insights (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    lead_id UUID,
    insight_type INSIGHT_TYPE NOT NULL,
    title VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    confidence NUMERIC(3, 2) NOT NULL,
    priority PRIORITY_LEVEL DEFAULT 'medium',
    data JSONB DEFAULT '{}',
    expires_at TIMESTAMPTZ,
    acknowledged_by UUID,
    acknowledged_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_ai_insights PRIMARY KEY (id),
    CONSTRAINT fk_ai_insights_lead_id FOREIGN KEY (lead_id)
    REFERENCES leads (id) ON DELETE CASCADE,
    CONSTRAINT fk_ai_insights_acknowledged_by FOREIGN KEY (acknowledged_by)
    REFERENCES users (id),
    CONSTRAINT ck_ai_insights_confidence CHECK (confidence BETWEEN 0 AND 1)
);

CREATE INDEX idx_ai_insights_lead_priority
ON ai_insights (lead_id, priority, created_at DESC);
CREATE INDEX idx_ai_insights_acknowledged_by ON ai_insights (acknowledged_by);

CREATE TABLE journey_events (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    lead_id UUID,
    event_type VARCHAR(100) NOT NULL,
    event_name VARCHAR(255) NOT NULL,
    description TEXT,
    properties JSONB DEFAULT '{}',
    user_id UUID,
    session_id VARCHAR(255),
    ip_address INET,
    user_agent TEXT,
    occurred_at TIMESTAMPTZ DEFAULT now(),
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_journey_events PRIMARY KEY (id),
    CONSTRAINT fk_journey_events_lead_id FOREIGN KEY (lead_id)
    REFERENCES leads (id) ON DELETE CASCADE,
    CONSTRAINT fk_journey_events_user_id FOREIGN KEY (user_id) REFERENCES users (id)
);

CREATE INDEX idx_journey_events_lead_occurred
ON journey_events (lead_id, occurred_at DESC);
CREATE INDEX idx_journey_events_user_id ON journey_events (user_id);
