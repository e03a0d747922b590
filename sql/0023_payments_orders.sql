-- Commerce (003): payments and orders.

CREATE TABLE payments (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID,
    product_id UUID,
    amount NUMERIC(10, 2) NOT NULL,
    currency VARCHAR(3) NOT NULL,
    stripe_payment_id VARCHAR(255),
    status VARCHAR(20),
    created_at TIMESTAMPTZ DEFAULT now(),
    completed_at TIMESTAMPTZ,
    failed_at TIMESTAMPTZ,
    CONSTRAINT pk_payments PRIMARY KEY (id),
    CONSTRAINT fk_payments_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT fk_payments_product_id FOREIGN KEY (product_id) REFERENCES products (id)
);

CREATE INDEX idx_payments_user_id ON payments (user_id);
CREATE INDEX idx_payments_status ON payments (status);
CREATE INDEX idx_payments_product_id ON payments (product_id);

CREATE TABLE orders (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID,
    total NUMERIC(10, 2) NOT NULL,
    status VARCHAR(20),
    created_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT pk_orders PRIMARY KEY (id),
    CONSTRAINT fk_orders_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT ck_orders_total CHECK (total >= 0)
);

CREATE INDEX idx_orders_user_id ON orders (user_id, created_at DESC);

-- Row-level security on payment data (roles from 0001; see 0015).
GRANT SELECT, INSERT, UPDATE, DELETE ON payments TO dbkit_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON payments TO dbkit_billing_admin;

ALTER TABLE payments ENABLE ROW LEVEL SECURITY;

CREATE POLICY pol_payments_own_rows ON payments
FOR ALL TO dbkit_app
USING (user_id = app_current_user_id())
WITH CHECK (user_id = app_current_user_id());
CREATE POLICY pol_payments_billing_admin ON payments
FOR ALL TO dbkit_billing_admin
USING (TRUE)
WITH CHECK (TRUE);
