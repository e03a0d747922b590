-- LeadAI Pro (004): leads with their partial, descending and full-text indexes.
-- anonymized_at is added for the GDPR/CCPA retention function (0035): it marks leads
-- whose personal data has been redacted.

CREATE TABLE leads (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid,
    assigned_to uuid,
    team_id uuid,
    -- Basic information
    first_name varchar(255) NOT NULL,
    last_name varchar(255) NOT NULL,
    email varchar(255),
    phone varchar(50),
    company varchar(255),
    job_title varchar(255),
    -- Address: {street, city, state, country, postal_code}
    address jsonb,
    -- Status and scoring
    status lead_status DEFAULT 'new',
    stage varchar(100) DEFAULT 'prospect',
    source varchar(100),
    campaign varchar(255),
    -- AI-enhanced fields
    current_score integer DEFAULT 0,
    score_confidence numeric(3, 2) DEFAULT 0.0,
    predicted_value numeric(12, 2),
    conversion_probability numeric(3, 2),
    -- Behavioural insights
    engagement_level engagement_level DEFAULT 'unknown',
    communication_preference jsonb DEFAULT '{}',
    optimal_contact_time jsonb DEFAULT '{}',
    -- Custom fields and tags
    custom_fields jsonb DEFAULT '{}',
    tags text[] DEFAULT '{}',
    -- Metadata
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    last_contacted_at timestamptz,
    next_follow_up_at timestamptz,
    anonymized_at timestamptz,
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
