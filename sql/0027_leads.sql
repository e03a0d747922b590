-- LeadAI Pro (004): leads with their partial, descending and full-text indexes.
-- anonymized_at is added for the GDPR/CCPA retention function (0035): it marks leads
-- whose personal data has been redacted.

CREATE TABLE leads (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    organization_id UUID,
    assigned_to UUID,
    team_id UUID,
    -- Basic information
    first_name VARCHAR(255) NOT NULL,
    last_name VARCHAR(255) NOT NULL,
    email VARCHAR(255),
    phone VARCHAR(50),
    company VARCHAR(255),
    job_title VARCHAR(255),
    -- Address: {street, city, state, country, postal_code}
    address JSONB,
    -- Status and scoring
    status LEAD_STATUS DEFAULT 'new',
    stage VARCHAR(100) DEFAULT 'prospect',
    source VARCHAR(100),
    campaign VARCHAR(255),
    -- AI-enhanced fields
    current_score INTEGER DEFAULT 0,
    score_confidence NUMERIC(3, 2) DEFAULT 0.0,
    predicted_value NUMERIC(12, 2),
    conversion_probability NUMERIC(3, 2),
    -- Behavioural insights
    engagement_level ENGAGEMENT_LEVEL DEFAULT 'unknown',
    communication_preference JSONB DEFAULT '{}',
    optimal_contact_time JSONB DEFAULT '{}',
    -- Custom fields and tags
    custom_fields JSONB DEFAULT '{}',
    tags TEXT [] DEFAULT '{}',
    -- Metadata
    created_at TIMESTAMPTZ DEFAULT now(),
    updated_at TIMESTAMPTZ DEFAULT now(),
    last_contacted_at TIMESTAMPTZ,
    next_follow_up_at TIMESTAMPTZ,
    anonymized_at TIMESTAMPTZ,
    CONSTRAINT pk_leads PRIMARY KEY (id),
    CONSTRAINT fk_leads_organization_id FOREIGN KEY (organization_id)
    REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT fk_leads_assigned_to FOREIGN KEY (assigned_to) REFERENCES users (id),
    CONSTRAINT fk_leads_team_id FOREIGN KEY (team_id) REFERENCES teams (id),
    CONSTRAINT ck_leads_current_score CHECK (current_score BETWEEN 0 AND 100),
    CONSTRAINT ck_leads_score_confidence CHECK (score_confidence BETWEEN 0 AND 1),
    CONSTRAINT ck_leads_conversion_probability CHECK (
        conversion_probability BETWEEN 0 AND 1
    )
);

CREATE INDEX idx_leads_organization_status ON leads (organization_id, status);
CREATE INDEX idx_leads_assigned_to ON leads (assigned_to);
CREATE INDEX idx_leads_team_id ON leads (team_id);
CREATE INDEX idx_leads_score ON leads (current_score DESC);
CREATE INDEX idx_leads_updated_at ON leads (updated_at DESC);
CREATE INDEX idx_leads_next_follow_up ON leads (next_follow_up_at)
WHERE next_follow_up_at IS NOT NULL;
CREATE INDEX idx_leads_search ON leads USING gin (
    to_tsvector(
        'english',
        coalesce(first_name, '') || ' '
        || coalesce(last_name, '') || ' '
        || coalesce(company, '') || ' '
        || coalesce(email, '')
    )
);

CREATE TRIGGER update_leads_updated_at BEFORE UPDATE ON leads
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
