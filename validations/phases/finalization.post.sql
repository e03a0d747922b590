-- Phase finalization, post-checks: analytics, row-level security, audit trails,
-- archive, retention, synthetic cleanup and notifications, and the schema-wide rules.

-- check: materialized_views_populated
-- REFRESH ... CONCURRENTLY fails on a materialized view that was never populated.
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
        WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
    );

-- check: billing_tables_have_row_level_security
-- Row-level security (seed 002) is on, with at least one policy, for every table
-- holding subscription or billing rows.
SELECT expected.table_name
FROM (
    VALUES
    ('user_subscriptions'),
    ('usage_metrics'),
    ('billing_transactions'),
    ('subscription_events'),
    ('payments'),
    ('billing_audit_log')
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

-- check: billing_audit_triggers_enabled
-- Seed 002's audit trail for all billing operations.
SELECT
    expected.table_name,
    expected.trigger_name
FROM (
    VALUES
    ('subscription_plans', 'trg_subscription_plans_audit'),
    ('user_subscriptions', 'trg_user_subscriptions_audit'),
    ('billing_transactions', 'trg_billing_transactions_audit'),
    ('payments', 'trg_payments_audit')
) AS expected (table_name, trigger_name)
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger AS tg
        WHERE
            tg.tgrelid = to_regclass(expected.table_name)
            AND tg.tgname = expected.trigger_name
            AND tg.tgenabled <> 'D'
    );

-- check: lead_notify_triggers_enabled
-- Seed 004's real-time readiness: lead changes are announced with pg_notify.
SELECT
    expected.table_name,
    expected.trigger_name
FROM (
    VALUES
    ('leads', 'trg_leads_notify'),
    ('lead_scores', 'trg_lead_scores_notify'),
    ('ai_insights', 'trg_ai_insights_notify')
) AS expected (table_name, trigger_name)
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger AS tg
        WHERE
            tg.tgrelid = to_regclass(expected.table_name)
            AND tg.tgname = expected.trigger_name
            AND tg.tgenabled <> 'D'
    );

-- check: finalization_objects_exist
-- The views and maintenance functions this phase provides.
SELECT
    expected.kind,
    expected.object_name
FROM (
    VALUES
    ('relation', 'company_performance'),
    ('function', 'refresh_subscription_analytics(boolean)'),
    ('function', 'archive_valuations(date)'),
    ('function', 'apply_data_retention(timestamptz)'),
    ('function', 'cleanup_expired_synthetic_data()'),
    ('function', 'audit_billing_change()'),
    ('function', 'notify_lead_change()')
) AS expected (kind, object_name)
WHERE
    (expected.kind = 'function' AND to_regprocedure(expected.object_name) IS NULL)
    OR (expected.kind = 'type' AND to_regtype(expected.object_name) IS NULL)
    OR (expected.kind = 'relation' AND to_regclass(expected.object_name) IS NULL)
    OR (
        expected.kind = 'extension'
        AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_extension AS e
            WHERE e.extname = expected.object_name
        )
    )
    OR (
        expected.kind = 'role'
        AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_roles AS r
            WHERE r.rolname = expected.object_name
        )
    );

-- check: retention_policy_for_every_category
-- apply_data_retention() only enforces categories that have a policy row.
SELECT expected.data_category
FROM (
    VALUES
    ('leads'),
    ('journey_events'),
    ('conversations'),
    ('analytics_events'),
    ('login_attempts')
) AS expected (data_category)
WHERE NOT EXISTS (
        SELECT 1 FROM data_retention_policies AS p
        WHERE p.data_category = expected.data_category
    );

-- check: valuation_not_both_live_and_archived
SELECT va.id
FROM valuations_archive AS va
WHERE EXISTS (
        SELECT 1 FROM valuations AS v
        WHERE v.id = va.id
    );
