-- LeadAI Pro (004): activities (calls, emails, meetings...) and conversations, with
-- the GIN index on conversation sentiment.

CREATE TABLE activities (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    lead_id UUID,
    user_id UUID,
    type ACTIVITY_TYPE NOT NULL,
    subject VARCHAR(500),
    description TEXT,
    outcome VARCHAR(255),
    scheduled_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    duration_minutes INTEGER,
    sentiment_score NUMERIC(3, 2),
    intent_detected VARCHAR(100),
    buying_signals JSONB DEFAULT '[]',
    metadata JSONB DEFAULT '{}',
    created_at TIMESTAMPTZ DEFAULT now(),
    updated_at TIMESTAMPTZ DEFAULT now(),
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
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    lead_id UUID,
    activity_id UUID,
    direction CONVERSATION_DIRECTION NOT NULL,
    channel VARCHAR(50) NOT NULL,
    subject VARCHAR(500),
    content TEXT NOT NULL,
    sentiment JSONB DEFAULT '{}',
    intent JSONB DEFAULT '{}',
    topics JSONB DEFAULT '[]',
    entities JSONB DEFAULT '[]',
    external_id VARCHAR(255),
    thread_id VARCHAR(255),
    metadata JSONB DEFAULT '{}',
    created_at TIMESTAMPTZ DEFAULT now(),
    analyzed_at TIMESTAMPTZ,
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
