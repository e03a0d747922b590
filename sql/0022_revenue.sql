-- Commerce (003): daily revenue, predictions, breakdowns and country metrics.

CREATE TABLE revenue_daily (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    date date NOT NULL,
    revenue numeric(10, 2) NOT NULL,
    orders_count integer DEFAULT 0,
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_revenue_daily PRIMARY KEY (id)
);

-- 003 declares date UNIQUE and also an index idx_revenue_daily_date on it: one unique
-- index under the seed's index name enforces both.
CREATE UNIQUE INDEX idx_revenue_daily_date ON revenue_daily (date);

CREATE TABLE revenue_predictions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    date date NOT NULL,
    predicted_revenue numeric(10, 2) NOT NULL,
    confidence numeric(3, 2),
    timeframe varchar(10),
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_revenue_predictions PRIMARY KEY (id),
    CONSTRAINT ck_revenue_predictions_confidence CHECK (confidence BETWEEN 0 AND 1)
);

CREATE TABLE revenue_breakdown (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    product_id uuid,
    category varchar(100),
    revenue numeric(10, 2) NOT NULL,
    date date NOT NULL,
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_revenue_breakdown PRIMARY KEY (id),
    CONSTRAINT fk_revenue_breakdown_product_id FOREIGN KEY (product_id)
    REFERENCES products (id)
);

CREATE INDEX idx_revenue_breakdown_product_id ON revenue_breakdown (product_id, date);

CREATE TABLE country_metrics (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    country varchar(2),
    revenue numeric(10, 2) DEFAULT 0,
    users integer DEFAULT 0,
    conversions integer DEFAULT 0,
    timestamp timestamptz DEFAULT now(),
    CONSTRAINT pk_country_metrics PRIMARY KEY (id)
);

CREATE INDEX idx_country_metrics_country ON country_metrics (country);
