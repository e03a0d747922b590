-- ValuAI phase 2 (business intelligence): the valuation audit trail, written by a
-- trigger on valuations so no code path can change a valuation without a history row.
-- The acting user and reason come from the session settings app.user_id and
-- app.change_reason (both optional).

CREATE TABLE valuation_history (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    company_id uuid,
    valuation_id uuid,
    previous_value numeric(15, 2),
    new_value numeric(15, 2),
    change_reason text,
    changed_by uuid,
    changed_at timestamptz DEFAULT now(),
    CONSTRAINT pk_valuation_history PRIMARY KEY (id),
    CONSTRAINT fk_valuation_history_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id),
    CONSTRAINT fk_valuation_history_valuation_id FOREIGN KEY (valuation_id)
    REFERENCES valuations (id) ON DELETE SET NULL,
    CONSTRAINT fk_valuation_history_changed_by FOREIGN KEY (changed_by)
    REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX idx_valuation_history_company_id
ON valuation_history (company_id, changed_at DESC);
CREATE INDEX idx_valuation_history_valuation_id ON valuation_history (valuation_id);
CREATE INDEX idx_valuation_history_changed_by ON valuation_history (changed_by);

CREATE OR REPLACE FUNCTION record_valuation_change()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.final_valuation IS NOT DISTINCT FROM OLD.final_valuation THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' AND NEW.final_valuation IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO valuation_history (
        company_id, valuation_id, previous_value, new_value, change_reason, changed_by
    )
    VALUES (
        NEW.company_id,
        NEW.id,
        CASE WHEN TG_OP = 'UPDATE' THEN OLD.final_valuation END,
        NEW.final_valuation,
        coalesce(nullif(current_setting('app.change_reason', TRUE), ''), lower(TG_OP)),
        app_current_user_id()
    );
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION record_valuation_change() IS
'AFTER INSERT/UPDATE trigger on valuations: appends final_valuation changes to valuation_history.';

CREATE TRIGGER trg_valuations_record_history
AFTER INSERT OR UPDATE OF final_valuation ON valuations
FOR EACH ROW EXECUTE FUNCTION record_valuation_change();
