-- Commerce (003): daily revenue, predictions, breakdowns and country metrics.

CREATE TABLE revenue_daily (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    date DATE NOT NULL,
    revenue NUMERIC(10, 2) NOT NULL,
    orders_count INTEGER DEFAULT 0,
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_revenue_daily PRIMARY KEY (id)
);

-- 003 declares date UNIQUE and also an index idx_revenue_daily_date on it: one unique
-- index under the seed's index name enforces both.
CREATE UNIQUE INDEX idx_revenue_daily_date ON revenue_daily (date);

CREATE TABLE revenue_predictions (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    date DATE NOT NULL,
    predicted_revenue NUMERIC(10, 2) NOT NULL,
    confidence NUMERIC(3, 2),
    timeframe VARCHAR(10),
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_revenue_predictions PRIMARY KEY (id),
    CONSTRAINT ck_revenue_predictions_confidence CHECK (confidence BETWEEN 0 AND 1)
);

CREATE TABLE revenue_breakdown (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    product_id UUID,
    category VARCHAR(100),
    revenue NUMERIC(10, 2) NOT NULL,
    date DATE NOT NULL,
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_revenue_breakdown PRIMARY KEY (id),
    CONSTRAINT fk_revenue_breakdown_product_id FOREIGN KEY (product_id)
    REFERENCES products (id)
);

CREATE INDEX idx_revenue_breakdown_product_id ON revenue_breakdown (product_id, date);

CREATE TABLE country_metrics (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    country VARCHAR(2),
    revenue NUMERIC(10, 2) DEFAULT 0,
    users INTEGER DEFAULT 0,
    conversions INTEGER DEFAULT 0,
    timestamp TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_country_metrics PRIMARY KEY (id)
);

CREATE INDEX idx_country_metrics_country ON country_metrics (country);
