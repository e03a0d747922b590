-- Finalization: 002's "audit trail for all billing operations". Every INSERT, UPDATE
-- and DELETE on plans, subscriptions, billing transactions and payments is copied into
-- billing_audit_log by trigger. The trigger function is SECURITY DEFINER so that
-- application roles can be denied any direct write to the log.

CREATE TABLE billing_audit_log (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    table_name text NOT NULL,
    operation text NOT NULL,
    row_id uuid,
    row_user_id uuid,
    old_data jsonb,
    new_data jsonb,
    changed_by text NOT NULL,
    app_user_id uuid,
    changed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_billing_audit_log PRIMARY KEY (id),
    CONSTRAINT ck_billing_audit_log_operation CHECK (
        operation IN ('INSERT', 'UPDATE', 'DELETE')
    )
);

COMMENT ON TABLE billing_audit_log IS
'Append-only audit trail of billing operations (seed 002), written by audit_billing_change().';

CREATE INDEX idx_billing_audit_log_table_row ON billing_audit_log (table_name, row_id);
CREATE INDEX idx_billing_audit_log_row_user ON billing_audit_log (row_user_id);
CREATE INDEX idx_billing_audit_log_changed_at ON billing_audit_log (changed_at);

-- Readable by the billing administrator only; nobody but the trigger writes it.
GRANT SELECT ON billing_audit_log TO dbkit_billing_admin;
ALTER TABLE billing_audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY pol_billing_audit_log_billing_admin ON billing_audit_log
FOR SELECT TO dbkit_billing_admin
USING (TRUE);

CREATE OR REPLACE FUNCTION audit_billing_change()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_row JSONB;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_row := to_jsonb(OLD);
    ELSE
        v_row := to_jsonb(NEW);
    END IF;
    INSERT INTO billing_audit_log (
        table_name, operation, row_id, row_user_id, old_data, new_data, changed_by,
        app_user_id
    )
    VALUES (
        TG_TABLE_NAME,
        TG_OP,
        (v_row ->> 'id')::UUID,
        (v_row ->> 'user_id')::UUID,
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END,
        CASE
            WHEN current_setting('role') <> 'none' THEN current_setting('role')
            ELSE session_user
        END,
        app_current_user_id()
    );
    RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION audit_billing_change() FROM public;

CREATE TRIGGER trg_subscription_plans_audit
AFTER INSERT OR UPDATE OR DELETE ON subscription_plans
FOR EACH ROW EXECUTE FUNCTION audit_billing_change();
CREATE TRIGGER trg_user_subscriptions_audit
AFTER INSERT OR UPDATE OR DELETE ON user_subscriptions
FOR EACH ROW EXECUTE FUNCTION audit_billing_change();
CREATE TRIGGER trg_billing_transactions_audit
AFTER INSERT OR UPDATE OR DELETE ON billing_transactions
FOR EACH ROW EXECUTE FUNCTION audit_billing_change();
CREATE TRIGGER trg_payments_audit
AFTER INSERT OR UPDATE OR DELETE ON payments
FOR EACH ROW EXECUTE FUNCTION audit_billing_change();
