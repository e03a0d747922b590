-- Phase business_intelligence, post-checks: the valuation audit trail and the cohorts.

-- check: valuation_history_trigger_enabled
-- Without the trigger, valuation changes go unrecorded (000's audit trail).
SELECT
    expected.table_name,
    expected.trigger_name
FROM (
    VALUES
    ('valuations', 'trg_valuations_record_history')
) AS expected (table_name, trigger_name)
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger AS tg
        WHERE
            tg.tgrelid = to_regclass(expected.table_name)
            AND tg.tgname = expected.trigger_name
            AND tg.tgenabled <> 'D'
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
    ('valuation_history', 'company_id', 'companies'),
    ('valuation_history', 'valuation_id', 'valuations'),
    ('valuation_history', 'changed_by', 'users'),
    ('ucaas_cohort_analysis', 'company_id', 'companies')
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
