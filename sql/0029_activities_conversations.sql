-- LeadAI Pro (004): activities (calls, emails, meetings...) and conversations, with
-- the GIN index on conversation sentiment.

CREATE TABLE activities (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    lead_id uuid,
    user_id uuid,
    type activity_type NOT NULL,
    subject varchar(500),
    description text,
    outcome varchar(255),
    scheduled_at timestamptz,
    completed_at timestamptz,
    duration_minutes integer,
    sentiment_score numeric(3, 2),
    intent_detected varchar(100),
    buying_signals jsonb DEFAULT '[]',
    metadata jsonb DEFAULT '{}',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_activities PRIMARY KEY (id),
    CONSTRAINT fk_activities_lead_id FOREIGN KEY (lead_id)
    REFERENCES leads (id) ON DELETE CASCADE,
    CONSTRAINT fk_activities_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT ck_activities_sentiment_score CHECK (sentiment_score BETWEEN -1 AND 1),
    CONSTRAINT ck_activities_duration_minutes CHECK (duration_minutes >= 0)
);

CREATE INDEX idx_activities_lead_type_completed
ON activities (lead_id, type, completed_at DESC);
CREATE INDEX idx_activities_user_id ON activities (user_id);

CREATE TABLE conversations (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    lead_id uuid,
    activity_id uuid,
    direction conversation_direction NOT NULL,
    channel varchar(50) NOT NULL,
    subject varchar(500),
    content text NOT NULL,
    sentiment jsonb DEFAULT '{}',
    intent jsonb DEFAULT '{}',
    topics jsonb DEFAULT '[]',
    entities jsonb DEFAULT '[]',
    external_id varchar(255),
    thread_id varchar(255),
    metadata jsonb DEFAULT '{}',
    created_at timestamptz DEFAULT now(),
    analyzed_at timestamptz,
    CONSTRAINT pk_conversations PRIMARY KEY (id),
    CONSTRAINT fk_conversations_lead_id FOREIGN KEY (lead_id)
    REFERENCES leads (id) ON DELETE CASCADE,
    CONSTRAINT fk_conversations_activity_id FOREIGN KEY (activity_id)
    REFERENCES activities (id)
);

CREATE INDEX idx_conversations_lead_created
ON conversations (lead_id, created_at DESC);
CREATE INDEX idx_conversations_sentiment ON conversations USING gin (sentiment);
CREATE INDEX idx_conversations_activity_id ON conversations (activity_id);

CREATE TRIGGER update_activities_updated_at BEFORE UPDATE ON activities
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
