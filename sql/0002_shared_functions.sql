-- Shared trigger and helper functions used by every later phase.

-- 001's trigger function, verbatim in behaviour: stamps updated_at on every UPDATE.
-- Attached to every table that has an updated_at column (not only 001's seven).
CREATE OR REPLACE FUNCTION update_updated_at_column()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at = CURRENT_TIMESTAMP;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION update_updated_at_column() IS
'BEFORE UPDATE trigger function (seed 001): sets NEW.updated_at to CURRENT_TIMESTAMP.';

-- The application user acting in this session, taken from the custom setting app.user_id
-- (SET app.user_id = '<uuid>' or set_config('app.user_id', ..., true)); NULL when unset.
-- Used by row-level security policies and by the audit triggers.
CREATE OR REPLACE FUNCTION app_current_user_id()
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
    SELECT nullif(current_setting('app.user_id', TRUE), '')::UUID;
$$;

COMMENT ON FUNCTION app_current_user_id() IS
'The application user of this session (setting app.user_id), NULL when unset.';
