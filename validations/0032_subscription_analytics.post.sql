-- Post-checks for 0032_subscription_analytics: REFRESH ... CONCURRENTLY needs each
-- materialized view populated and holding a unique index.

-- check: materialized_views_populated
SELECT c.relname
FROM pg_catalog.pg_class AS c
WHERE
    c.relkind = 'm'
    AND c.relnamespace = to_regnamespace(quote_ident(current_schema()))
    AND NOT c.relispopulated;

-- check: materialized_views_have_unique_index
SELECT c.relname
FROM pg_catalog.pg_class AS c
WHERE
    c.relkind = 'm'
    AND c.relnamespace = to_regnamespace(quote_ident(current_schema()))
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index AS i
        WHERE i.indrelid = c.oid AND i.indisunique AND i.indpred IS NULL
    );
