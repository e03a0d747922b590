-- Phase foundation, pre-checks: what the server must offer before anything is created.

-- check: server_supports_security_invoker_views
-- The compatibility views (businesses, subscriptions, company_performance) are
-- security_invoker views, which PostgreSQL 15 introduced.
SELECT current_setting('server_version') AS server_version
WHERE current_setting('server_version_num')::integer < 150000;

-- check: pg_trgm_available
-- 0001 creates pg_trgm (idx_companies_name_trgm); the server must ship the contrib module.
SELECT 'pg_trgm' AS extension
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_available_extensions AS ae
        WHERE ae.name = 'pg_trgm'
    );

-- check: roles_exist_or_can_be_created
-- 0001 creates the server-wide roles dbkit_app and dbkit_billing_admin when missing:
-- that needs CREATEROLE (or superuser) the first time on a server.
SELECT expected.role_name
FROM (VALUES ('dbkit_app'), ('dbkit_billing_admin')) AS expected (role_name)
WHERE
    NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_roles AS r
        WHERE r.rolname = expected.role_name
    )
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_roles AS me
        WHERE me.rolname = current_user AND (me.rolsuper OR me.rolcreaterole)
    );
