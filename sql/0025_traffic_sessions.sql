-- Commerce (003): traffic, conversion funnel and live sessions. 003 left user_id
-- without a foreign key; here it references users (NULL for anonymous visitors; page
-- views and conversions keep their counts when a user is deleted, sessions go).

CREATE TABLE page_views (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    page varchar(255),
    user_id uuid,
    count integer DEFAULT 1,
    timestamp timestamptz DEFAULT now(),
    CONSTRAINT pk_page_views PRIMARY KEY (id),
    CONSTRAINT fk_page_views_user_id FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX idx_page_views_timestamp ON page_views (timestamp);
CREATE INDEX idx_page_views_user_id ON page_views (user_id);

CREATE TABLE conversions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    stage varchar(50),
    source varchar(100),
    timestamp timestamptz DEFAULT now(),
    CONSTRAINT pk_conversions PRIMARY KEY (id),
    CONSTRAINT fk_conversions_user_id FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX idx_conversions_timestamp ON conversions (timestamp);
CREATE INDEX idx_conversions_user_id ON conversions (user_id);

CREATE TABLE user_sessions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    last_activity timestamptz DEFAULT now(),
    CONSTRAINT pk_user_sessions PRIMARY KEY (id),
    CONSTRAINT fk_user_sessions_user_id FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX idx_user_sessions_user_id ON user_sessions (user_id);
