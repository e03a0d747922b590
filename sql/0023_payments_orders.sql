-- Commerce (003): payments and orders.

CREATE TABLE payments (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    product_id uuid,
    amount numeric(10, 2) NOT NULL,
    currency varchar(3) NOT NULL,
    stripe_payment_id varchar(255),
    status varchar(20),
    created_at timestamptz DEFAULT now(),
    completed_at timestamptz,
    failed_at timestamptz,
    CONSTRAINT pk_payments PRIMARY KEY (id),
    CONSTRAINT fk_payments_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT fk_payments_product_id FOREIGN KEY (product_id) REFERENCES products (id)
);

CREATE INDEX idx_payments_user_id ON payments (user_id);
CREATE INDEX idx_payments_status ON payments (status);
CREATE INDEX idx_payments_product_id ON payments (product_id);

CREATE TABLE orders (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    total numeric(10, 2) NOT NULL,
    status varchar(20),
    created_at timestamptz DEFAULT now(),
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
