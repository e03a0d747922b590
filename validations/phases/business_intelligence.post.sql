-- Phase business_intelligence, post-checks: the valuation audit trail and the cohorts.

-- check: valuation_history_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM valuation_history AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );

-- check: valuation_history_valuation_id_references_valuations
SELECT
    t.id,
    t.valuation_id
FROM valuation_history AS t
WHERE
    t.valuation_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM valuations AS p
        WHERE p.id = t.valuation_id
    );

-- check: valuation_history_changed_by_references_users
SELECT
    t.id,
    t.changed_by
FROM valuation_history AS t
WHERE
    t.changed_by IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.changed_by
    );

-- check: ucaas_cohort_analysis_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM ucaas_cohort_analysis AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );

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
