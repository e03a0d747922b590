-- Dynamic-pricing commerce (003): products, their metrics and user behaviour.
-- 003's uuid_generate_v4() (uuid-ossp) becomes core gen_random_uuid(): uuid-ossp is
-- not available on the embedded server. 003's TIMESTAMP columns are TIMESTAMPTZ.
-- 003 left user_behavior.user_id without a foreign key; here it references users and
-- becomes NULL when the user is deleted (anonymous behaviour stays countable).

CREATE TABLE products (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(255) NOT NULL,
    description text,
    base_price numeric(10, 2) NOT NULL,
    base_cost numeric(10, 2),
    current_price numeric(10, 2) NOT NULL,
    inventory_count integer DEFAULT 0,
    reorder_point integer DEFAULT 50,
    sales_count integer DEFAULT 0,
    pricing_factors jsonb,
    last_price_update timestamptz,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_products PRIMARY KEY (id),
    CONSTRAINT ck_products_base_price CHECK (base_price >= 0),
    CONSTRAINT ck_products_current_price CHECK (current_price >= 0)
);

CREATE INDEX idx_products_price ON products (current_price);

CREATE TABLE product_metrics (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    product_id uuid,
    views integer DEFAULT 0,
    sales integer DEFAULT 0,
    cart_adds integer DEFAULT 0,
    timestamp timestamptz DEFAULT now(),
    CONSTRAINT pk_product_metrics PRIMARY KEY (id),
    CONSTRAINT fk_product_metrics_product_id FOREIGN KEY (product_id)
    REFERENCES products (id)
);

CREATE INDEX idx_product_metrics_product_id ON product_metrics (product_id);
CREATE INDEX idx_product_metrics_timestamp ON product_metrics (timestamp);

CREATE TABLE user_behavior (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    product_id uuid,
    action varchar(50),
    timestamp timestamptz DEFAULT now(),
    CONSTRAINT pk_user_behavior PRIMARY KEY (id),
    CONSTRAINT fk_user_behavior_user_id FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT fk_user_behavior_product_id FOREIGN KEY (product_id)
    REFERENCES products (id)
);

CREATE INDEX idx_user_behavior_product_id ON user_behavior (product_id);
CREATE INDEX idx_user_behavior_user_id ON user_behavior (user_id);

CREATE TRIGGER update_products_updated_at BEFORE UPDATE ON products
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
