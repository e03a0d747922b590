-- Extensions and roles the unified schema relies on.
--
-- Extensions: only contrib modules shipped by both the system PostgreSQL 15 and the
-- embedded PostgreSQL 18 wheel are allowed here: uuid-ossp and pgcrypto are NOT in the
-- wheel, so ids use core gen_random_uuid(). pg_trgm backs the fuzzy company-name index
-- idx_companies_name_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

-- Roles for the row-level security on subscription and billing data (seed 002):
--   dbkit_app            the application: sees and writes only the rows of the user
--                        named by the session setting app.user_id
--                        (SET app.user_id = '<uuid>'), and reads every plan;
--   dbkit_billing_admin  billing operations: every row of the billing tables, the
--                        billing audit log and the subscription analytics.
-- Roles belong to the whole server, not to this database: they are created only when
-- missing (a concurrent creation by another database's migration is tolerated) and the
-- rollback does not drop them, since other databases on the server may use them. Their
-- grants and policies are made by the migrations that create each protected table, so
-- dropping the table takes them away and every rollback restores the catalog exactly.
DO $$
DECLARE
    v_role TEXT;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['dbkit_app', 'dbkit_billing_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN
                    NULL;  -- created meanwhile by another database's migration
            END;
        END IF;
    END LOOP;
END;
$$;
