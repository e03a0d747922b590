-- The nine enum types of seed 004 (LeadAI Pro). The seed created them after the tables
-- using them; here they exist before any table.
CREATE TYPE user_role AS ENUM (
    'admin', 'manager', 'sales_rep', 'marketing', 'viewer'
);

CREATE TYPE organization_size AS ENUM (
    'startup', 'small', 'medium', 'large', 'enterprise'
);

CREATE TYPE lead_status AS ENUM (
    'new', 'contacted', 'qualified', 'proposal', 'negotiation',
    'closed_won', 'closed_lost', 'nurturing', 'unqualified'
);

CREATE TYPE engagement_level AS ENUM (
    'unknown', 'low', 'medium', 'high', 'very_high'
);

CREATE TYPE insight_type AS ENUM (
    'buying_signal', 'churn_risk', 'optimal_contact_time',
    'content_recommendation', 'next_best_action', 'competitive_threat'
);

CREATE TYPE priority_level AS ENUM ('low', 'medium', 'high', 'urgent');

CREATE TYPE activity_type AS ENUM (
    'call', 'email', 'meeting', 'demo', 'proposal',
    'follow_up', 'note', 'task', 'social_interaction'
);

CREATE TYPE conversation_direction AS ENUM ('inbound', 'outbound');

CREATE TYPE forecast_type AS ENUM (
    'revenue', 'lead_volume', 'conversion_rate', 'deal_velocity'
);
