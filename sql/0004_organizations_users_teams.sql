-- Identity and tenancy: organizations, the merged users table, teams.
-- users merges three seed definitions (001 Auxeira, 003 commerce, 004 LeadAI Pro) and
-- the users that 000 (ValuAI) and 002 (GoodBuy HQ) reference: one table, union of the
-- columns, the stricter constraint where they differ, UUID keys.

CREATE TABLE organizations (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(255) NOT NULL,
    domain varchar(255),
    industry varchar(100),
    size organization_size,
    settings jsonb DEFAULT '{}',
    ai_config jsonb DEFAULT '{}',
    subscription_tier varchar(50) DEFAULT 'free',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_organizations PRIMARY KEY (id)
);

CREATE TABLE users (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    email varchar(255) NOT NULL,
    -- 001 (Auxeira)
    user_type varchar(50) NOT NULL,
    company_name varchar(255),
    company_size varchar(50),
    industry varchar(100),
    subscription_tier varchar(50) DEFAULT 'free',
    subscription_status varchar(50) DEFAULT 'active',
    trial_ends_at timestamptz,
    billing_cycle varchar(20) DEFAULT 'monthly',
    payment_method_id varchar(255),
    profile_completion_score integer DEFAULT 0,
    last_login_at timestamptz,
    -- 003 (commerce)
    stripe_customer_id varchar(255),
    country varchar(2),
    password_strength varchar(20),
    -- 004 (LeadAI Pro)
    full_name varchar(255) NOT NULL,
    avatar_url text,
    role user_role NOT NULL DEFAULT 'sales_rep',
    organization_id uuid,
    team_id uuid,
    preferences jsonb DEFAULT '{}',
    ai_settings jsonb DEFAULT '{}',
    last_active_at timestamptz DEFAULT now(),
    created_at timestamptz DEFAULT current_timestamp,
    updated_at timestamptz DEFAULT current_timestamp,
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT fk_users_organization_id FOREIGN KEY (organization_id)
    REFERENCES organizations (id),
    CONSTRAINT ck_users_profile_completion_score CHECK (
        profile_completion_score BETWEEN 0 AND 100
    )
);

-- The seeds' UNIQUE (email) is enforced by the seed-named unique index (000 and 001 both
-- name an index idx_users_email on users(email)); a separate constraint would only add a
-- second identical index.
CREATE UNIQUE INDEX idx_users_email ON users (email);
CREATE INDEX idx_users_type_status ON users (user_type, subscription_status);
CREATE INDEX idx_users_organization_id ON users (organization_id);
CREATE INDEX idx_users_team_id ON users (team_id);

CREATE TABLE teams (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid,
    name varchar(255) NOT NULL,
    description text,
    manager_id uuid,
    settings jsonb DEFAULT '{}',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_teams PRIMARY KEY (id),
    CONSTRAINT fk_teams_organization_id FOREIGN KEY (organization_id)
    REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT fk_teams_manager_id FOREIGN KEY (manager_id)
    REFERENCES users (id)
);

CREATE INDEX idx_teams_organization_id ON teams (organization_id);
CREATE INDEX idx_teams_manager_id ON teams (manager_id);

-- users.team_id and teams.manager_id reference each other: the users side is added once
-- teams exists (both tables are new and empty in this transaction).
ALTER TABLE users
ADD CONSTRAINT fk_users_team_id FOREIGN KEY (team_id) REFERENCES teams (id);

CREATE TRIGGER update_organizations_updated_at BEFORE UPDATE ON organizations
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON users
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_teams_updated_at BEFORE UPDATE ON teams
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
