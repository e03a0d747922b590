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

-- check: foreign_keys_validated
-- A foreign key added NOT VALID (or left unvalidated by a failed VALIDATE) does not
-- guarantee the anti-joins above for rows that existed before it.
SELECT
    con.conrelid::regclass AS table_name,
    con.conname
FROM pg_catalog.pg_constraint AS con
WHERE
    con.contype = 'f'
    AND con.connamespace = 'public'::regnamespace
    AND NOT con.convalidated;

-- check: foreign_keys_indexed
-- Every foreign key has a valid index led by its columns: without one, the anti-joins
-- above, ON DELETE actions and joins on the key scan the whole child table.
SELECT
    con.conrelid::regclass AS table_name,
    con.conname
FROM pg_catalog.pg_constraint AS con
WHERE
    con.contype = 'f'
    AND con.connamespace = 'public'::regnamespace
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index AS i
        WHERE
            i.indrelid = con.conrelid
            AND i.indisvalid
            AND i.indpred IS NULL
            AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1] = con.conkey
    );

-- check: indexes_valid
-- A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind: it costs writes and
-- serves no reads.
SELECT i.indexrelid::regclass AS index_name
FROM pg_catalog.pg_index AS i
INNER JOIN pg_catalog.pg_class AS c ON i.indexrelid = c.oid
WHERE
    c.relnamespace = 'public'::regnamespace
    AND NOT (i.indisvalid AND i.indisready);

-- check: updated_at_triggers_present
-- Every table with an updated_at column has an enabled trigger calling
-- update_updated_at_column() (001's rule, applied to every table).
SELECT c.relname
FROM pg_catalog.pg_class AS c
INNER JOIN pg_catalog.pg_attribute AS a
    ON c.oid = a.attrelid AND a.attname = 'updated_at' AND NOT a.attisdropped
WHERE
    c.relkind IN ('r', 'p')
    AND c.relnamespace = 'public'::regnamespace
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger AS tg
        WHERE
            tg.tgrelid = c.oid
            AND tg.tgfoid = 'update_updated_at_column()'::regprocedure
            AND tg.tgenabled <> 'D'
    );
