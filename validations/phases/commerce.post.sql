-- Phase commerce, post-checks: products, revenue, payments and orders, experiments,
-- traffic and security tables.

-- check: product_metrics_product_id_references_products
SELECT
    t.id,
    t.product_id
FROM product_metrics AS t
WHERE
    t.product_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM products AS p
        WHERE p.id = t.product_id
    );

-- check: user_behavior_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM user_behavior AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: user_behavior_product_id_references_products
SELECT
    t.id,
    t.product_id
FROM user_behavior AS t
WHERE
    t.product_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM products AS p
        WHERE p.id = t.product_id
    );

-- check: revenue_breakdown_product_id_references_products
SELECT
    t.id,
    t.product_id
FROM revenue_breakdown AS t
WHERE
    t.product_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM products AS p
        WHERE p.id = t.product_id
    );

-- check: payments_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM payments AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: payments_product_id_references_products
SELECT
    t.id,
    t.product_id
FROM payments AS t
WHERE
    t.product_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM products AS p
        WHERE p.id = t.product_id
    );

-- check: orders_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM orders AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: marketing_content_product_id_references_products
SELECT
    t.id,
    t.product_id
FROM marketing_content AS t
WHERE
    t.product_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM products AS p
        WHERE p.id = t.product_id
    );

-- check: ab_test_results_test_id_references_ab_tests
SELECT
    t.id,
    t.test_id
FROM ab_test_results AS t
WHERE
    t.test_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM ab_tests AS p
        WHERE p.id = t.test_id
    );

-- check: page_views_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM page_views AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: conversions_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM conversions AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: user_sessions_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM user_sessions AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: api_keys_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM api_keys AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: payments_have_row_level_security
-- Row-level security (seed 002) is on, with at least one policy, for every table
-- holding subscription or billing rows.
SELECT expected.table_name
FROM (
    VALUES
    ('payments')
) AS expected (table_name)
LEFT JOIN pg_catalog.pg_class AS c
    ON c.oid = to_regclass(expected.table_name)
WHERE
    c.oid IS NULL
    OR NOT c.relrowsecurity
    OR NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_policy AS pol
        WHERE pol.polrelid = c.oid
    );
