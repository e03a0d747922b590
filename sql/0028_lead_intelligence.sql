-- LeadAI Pro (004): lead scores with explanations, AI insights, journey events.

CREATE TABLE lead_scores (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    lead_id uuid,
    score integer NOT NULL,
    confidence numeric(3, 2) NOT NULL,
    model_version varchar(50) NOT NULL,
    demographic_score integer,
    behavioral_score integer,
    temporal_score integer,
    conversational_score integer,
    explanation jsonb NOT NULL,
    recommendations jsonb DEFAULT '[]',
    created_at timestamptz DEFAULT now(),
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
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    lead_id uuid,
    insight_type insight_type NOT NULL,
    title varchar(255) NOT NULL,
    description text NOT NULL,
    confidence numeric(3, 2) NOT NULL,
    priority priority_level DEFAULT 'medium',
    data jsonb DEFAULT '{}',
    expires_at timestamptz,
    acknowledged_by uuid,
    acknowledged_at timestamptz,
    created_at timestamptz DEFAULT now(),
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
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    lead_id uuid,
    event_type varchar(100) NOT NULL,
    event_name varchar(255) NOT NULL,
    description text,
    properties jsonb DEFAULT '{}',
    user_id uuid,
    session_id varchar(255),
    ip_address inet,
    user_agent text,
    occurred_at timestamptz DEFAULT now(),
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_journey_events PRIMARY KEY (id),
    CONSTRAINT fk_journey_events_lead_id FOREIGN KEY (lead_id)
    REFERENCES leads (id) ON DELETE CASCADE,
    CONSTRAINT fk_journey_events_user_id FOREIGN KEY (user_id) REFERENCES users (id)
);

CREATE INDEX idx_journey_events_lead_occurred
ON journey_events (lead_id, occurred_at DESC);
CREATE INDEX idx_journey_events_user_id ON journey_events (user_id);
