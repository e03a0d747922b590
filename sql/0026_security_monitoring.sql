-- Commerce (003): API keys, login attempts, API logs and security alerts.

CREATE TABLE api_keys (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID,
    key VARCHAR(255) NOT NULL,
    active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_api_keys PRIMARY KEY (id),
    CONSTRAINT fk_api_keys_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT uq_api_keys_key UNIQUE (key)
);

CREATE INDEX idx_api_keys_user_id ON api_keys (user_id);

CREATE TABLE login_attempts (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    username VARCHAR(255),
    success BOOLEAN,
    timestamp TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_login_attempts PRIMARY KEY (id)
);

CREATE INDEX idx_login_attempts_username ON login_attempts (username, timestamp DESC);

CREATE TABLE api_logs (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    endpoint VARCHAR(255),
    method VARCHAR(10),
    status_code INTEGER,
    timestamp TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_api_logs PRIMARY KEY (id),
    CONSTRAINT ck_api_logs_status_code CHECK (status_code BETWEEN 100 AND 599)
);

CREATE TABLE security_alerts (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    type VARCHAR(50),
    severity VARCHAR(20),
    description TEXT,
    resolved BOOLEAN DEFAULT FALSE,
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_security_alerts PRIMARY KEY (id)
);
