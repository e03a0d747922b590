-- Commerce (003): API keys, login attempts, API logs and security alerts.

CREATE TABLE api_keys (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    key varchar(255) NOT NULL,
    active boolean DEFAULT TRUE,
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_api_keys PRIMARY KEY (id),
    CONSTRAINT fk_api_keys_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT uq_api_keys_key UNIQUE (key)
);

CREATE INDEX idx_api_keys_user_id ON api_keys (user_id);

CREATE TABLE login_attempts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    username varchar(255),
    success boolean,
    timestamp timestamptz DEFAULT now(),
    CONSTRAINT pk_login_attempts PRIMARY KEY (id)
);

CREATE INDEX idx_login_attempts_username ON login_attempts (username, timestamp DESC);

CREATE TABLE api_logs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    endpoint varchar(255),
    method varchar(10),
    status_code integer,
    timestamp timestamptz DEFAULT now(),
    CONSTRAINT pk_api_logs PRIMARY KEY (id),
    CONSTRAINT ck_api_logs_status_code CHECK (status_code BETWEEN 100 AND 599)
);

CREATE TABLE security_alerts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    type varchar(50),
    severity varchar(20),
    description text,
    resolved boolean DEFAULT FALSE,
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_security_alerts PRIMARY KEY (id)
);
