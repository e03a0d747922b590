-- GoodBuy HQ (002) phase 1, schema preparation: plans, subscriptions, usage, billing.
-- subscription_plans merges 002's and 003's definitions; user_subscriptions merges
-- 002's user_subscriptions with 003's subscriptions (003's name survives as the
-- compatibility view subscriptions below). 002's VARCHAR ids defaulting to
-- gen_random_uuid() are UUID columns; its unbounded VARCHARs are TEXT and JSON is JSONB.

CREATE TABLE subscription_plans (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(100) NOT NULL,
    description text,
    price numeric(10, 2) NOT NULL,
    currency varchar(3) NOT NULL DEFAULT 'USD',
    billing_period varchar(20) NOT NULL DEFAULT 'monthly',
    interval varchar(20),
    stripe_price_id varchar(255),
    ai_analysis_limit integer,
    features jsonb NOT NULL DEFAULT '{}',
    is_active boolean DEFAULT TRUE,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_subscription_plans PRIMARY KEY (id),
    CONSTRAINT uq_subscription_plans_name_billing_period UNIQUE (name, billing_period),
    CONSTRAINT ck_subscription_plans_price CHECK (price >= 0),
    CONSTRAINT ck_subscription_plans_ai_analysis_limit CHECK (ai_analysis_limit >= 0)
);

COMMENT ON COLUMN subscription_plans.ai_analysis_limit IS 'NULL means unlimited (seed 002).';
COMMENT ON COLUMN subscription_plans.interval IS
'Seed 003''s billing interval as the payment provider names it (e.g. month, year).';

CREATE TABLE user_subscriptions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    plan_id uuid NOT NULL,
    stripe_subscription_id varchar(255),
    stripe_customer_id varchar(255),
    status varchar(20) NOT NULL DEFAULT 'active',
    current_period_start timestamptz,
    current_period_end timestamptz,
    trial_end timestamptz,
    cancelled_at timestamptz,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_user_subscriptions PRIMARY KEY (id),
    CONSTRAINT fk_user_subscriptions_user_id FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_user_subscriptions_plan_id FOREIGN KEY (plan_id)
    REFERENCES subscription_plans (id),
    CONSTRAINT uq_user_subscriptions_stripe_subscription_id UNIQUE (
        stripe_subscription_id
    ),
    CONSTRAINT ck_user_subscriptions_period CHECK (
        current_period_end >= current_period_start
    )
);

-- user_id is indexed by idx_user_subscriptions_user_id, built CONCURRENTLY in 0016.
CREATE INDEX idx_user_subscriptions_plan_id ON user_subscriptions (plan_id);

-- 003's table name, kept as a simple (auto-updatable) view over the merged table.
CREATE VIEW subscriptions WITH (security_invoker = TRUE) AS
SELECT
    id,
    user_id,
    plan_id,
    stripe_subscription_id,
    status,
    current_period_start,
    current_period_end,
    created_at,
    cancelled_at
FROM user_subscriptions;

COMMENT ON VIEW subscriptions IS
'Compatibility view (seed 003): subscriptions are rows of user_subscriptions.';

CREATE TABLE usage_metrics (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    subscription_id uuid,
    metric_type text NOT NULL,
    count integer DEFAULT 1,
    metadata jsonb,
    created_at timestamptz DEFAULT now(),
    date date DEFAULT current_date,
    CONSTRAINT pk_usage_metrics PRIMARY KEY (id),
    CONSTRAINT fk_usage_metrics_user_id FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_usage_metrics_subscription_id FOREIGN KEY (subscription_id)
    REFERENCES user_subscriptions (id),
    CONSTRAINT ck_usage_metrics_count CHECK (count >= 0)
);

-- user_id is indexed by idx_usage_metrics_user_date, built CONCURRENTLY in 0016.
CREATE INDEX idx_usage_metrics_subscription_id ON usage_metrics (subscription_id);

CREATE TABLE billing_transactions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    subscription_id uuid,
    stripe_payment_intent_id text,
    amount numeric(10, 2) NOT NULL,
    currency text DEFAULT 'USD',
    status text NOT NULL,
    transaction_type text NOT NULL,
    metadata jsonb,
    created_at timestamptz DEFAULT now(),
    CONSTRAINT pk_billing_transactions PRIMARY KEY (id),
    CONSTRAINT fk_billing_transactions_user_id FOREIGN KEY (user_id)
    REFERENCES users (id),
    CONSTRAINT fk_billing_transactions_subscription_id FOREIGN KEY (subscription_id)
    REFERENCES user_subscriptions (id)
);

CREATE INDEX idx_billing_transactions_user_created
ON billing_transactions (user_id, created_at DESC);
CREATE INDEX idx_billing_transactions_subscription_id
ON billing_transactions (subscription_id);

CREATE TRIGGER update_subscription_plans_updated_at BEFORE UPDATE ON subscription_plans
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_user_subscriptions_updated_at BEFORE UPDATE ON user_subscriptions
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- Row-level security on subscription and billing data (seed 002; roles from 0001).
-- The application role sees and writes only the rows of the user named by app.user_id;
-- the billing administrator sees every row. The owner (the migration role) is not
-- subject to the policies (no FORCE), so data migrations and validations see all rows.
GRANT SELECT ON subscription_plans TO dbkit_app;
GRANT SELECT, INSERT, UPDATE, DELETE
ON user_subscriptions, subscriptions, usage_metrics, billing_transactions
TO dbkit_app;
GRANT SELECT, INSERT, UPDATE, DELETE
ON subscription_plans, user_subscriptions, subscriptions, usage_metrics,
billing_transactions
TO dbkit_billing_admin;

ALTER TABLE user_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_transactions ENABLE ROW LEVEL SECURITY;

CREATE POLICY pol_user_subscriptions_own_rows ON user_subscriptions
FOR ALL TO dbkit_app
USING (user_id = app_current_user_id())
WITH CHECK (user_id = app_current_user_id());
CREATE POLICY pol_user_subscriptions_billing_admin ON user_subscriptions
FOR ALL TO dbkit_billing_admin
USING (TRUE)
WITH CHECK (TRUE);

CREATE POLICY pol_usage_metrics_own_rows ON usage_metrics
FOR ALL TO dbkit_app
USING (user_id = app_current_user_id())
WITH CHECK (user_id = app_current_user_id());
CREATE POLICY pol_usage_metrics_billing_admin ON usage_metrics
FOR ALL TO dbkit_billing_admin
USING (TRUE)
WITH CHECK (TRUE);

CREATE POLICY pol_billing_transactions_own_rows ON billing_transactions
FOR ALL TO dbkit_app
USING (user_id = app_current_user_id())
WITH CHECK (user_id = app_current_user_id());
CREATE POLICY pol_billing_transactions_billing_admin ON billing_transactions
FOR ALL TO dbkit_billing_admin
USING (TRUE)
WITH CHECK (TRUE);

-- "Set up initial subscription plans data": the Free plan phase 2 (user_migration)
-- assigns to every existing user.
INSERT INTO subscription_plans (
    name, description, price, currency, billing_period, interval, ai_analysis_limit, features
)
VALUES (
    'Free',
    'Free tier: every existing user is assigned it by the user_migration phase.',
    0.00,
    'USD',
    'monthly',
    'month',
    3,
    '{"ai_analysis": true, "professional_reports": false, "portfolios": 1}'
);
