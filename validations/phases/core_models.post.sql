-- Phase core_models, post-checks: companies (002's businesses), ValuAI's valuations,
-- files and reports, GoodBuy's health metrics.

-- check: businesses_view_covers_companies
-- 002's queries read businesses: every company must be visible through the view.
-- It is as long as the view reads companies alone and unfiltered, which its definition
-- says without reading a row: one relation, no WHERE, JOIN, LIMIT, DISTINCT, GROUP BY
-- or set operation (an anti-join of companies against the view read both in full).
SELECT v.view_name
FROM (VALUES ('businesses', 'companies')) AS v (view_name, table_name)
WHERE
    to_regclass(v.view_name) IS NULL
    OR pg_get_viewdef(to_regclass(v.view_name)) ~* (
        '\m(where|join|limit|offset|fetch|distinct|group|having|union|intersect|except)\M'
    )
    OR NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS d
        INNER JOIN pg_catalog.pg_rewrite AS r ON d.objid = r.oid
        WHERE
            d.classid = 'pg_catalog.pg_rewrite'::regclass
            AND r.ev_class = to_regclass(v.view_name)
            AND d.refobjid = to_regclass(v.table_name)
    )
    OR EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS d
        INNER JOIN pg_catalog.pg_rewrite AS r ON d.objid = r.oid
        WHERE
            d.classid = 'pg_catalog.pg_rewrite'::regclass
            AND d.refclassid = 'pg_catalog.pg_class'::regclass
            AND r.ev_class = to_regclass(v.view_name)
            AND d.refobjid <> r.ev_class
            AND d.refobjid IS DISTINCT FROM to_regclass(v.table_name)
    );

-- check: foreign_keys_in_place
-- The foreign keys this phase added or relies on.
-- Each key exists and is validated, so PostgreSQL guarantees every row has its parent;
-- no anti-join over the child tables (docs/decisions.md; `dbkit validate --deep`
-- re-proves them row by row).
SELECT
    expected.table_name,
    expected.column_name,
    expected.referenced_table
FROM (
    VALUES
    ('companies', 'user_id', 'users'),
    ('valuations', 'company_id', 'companies'),
    ('valuations', 'user_id', 'users'),
    ('file_uploads', 'user_id', 'users'),
    ('file_uploads', 'company_id', 'companies'),
    ('reports', 'user_id', 'users'),
    ('reports', 'company_id', 'companies'),
    ('reports', 'valuation_id', 'valuations'),
    ('health_metrics', 'business_id', 'companies')
) AS expected (table_name, column_name, referenced_table)
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint AS con
        INNER JOIN pg_catalog.pg_attribute AS a
            ON con.conrelid = a.attrelid AND con.conkey[1] = a.attnum
        WHERE
            con.contype = 'f'
            AND con.convalidated
            AND con.conrelid = to_regclass(expected.table_name)
            AND con.confrelid = to_regclass(expected.referenced_table)
            AND cardinality(con.conkey) = 1
            AND a.attname = expected.column_name
    );
