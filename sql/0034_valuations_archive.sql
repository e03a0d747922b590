-- Finalization: 000's valuations_archive and the function that moves valuations older
-- than a cutoff into it. 000 wrote CREATE TABLE valuations_archive (LIKE valuations),
-- which copies columns but leaves indexes and constraints unnamed; the archive is
-- written out with the same columns (same names, types and order) plus archived_at.
-- History rows and reports keep working: their valuation_id foreign keys are ON DELETE
-- SET NULL, and valuation_history keeps company, values and dates of archived rows.

CREATE TABLE valuations_archive (
    id uuid NOT NULL,
    company_id uuid NOT NULL,
    user_id uuid,
    valuation_method varchar(50),
    valuation_date date NOT NULL,
    low_valuation numeric(15, 2),
    high_valuation numeric(15, 2),
    final_valuation numeric(15, 2),
    confidence_score numeric(5, 4),
    currency varchar(3),
    inputs jsonb,
    notes text,
    status varchar(20),
    created_at timestamptz,
    updated_at timestamptz,
    archived_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_valuations_archive PRIMARY KEY (id)
);

COMMENT ON TABLE valuations_archive IS
'Valuations moved out of valuations by archive_valuations(); same columns plus archived_at.';

CREATE INDEX idx_valuations_archive_company_id
ON valuations_archive (company_id, valuation_date);
CREATE INDEX idx_valuations_archive_date ON valuations_archive (valuation_date);

CREATE TRIGGER update_valuations_archive_updated_at
BEFORE UPDATE ON valuations_archive
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE OR REPLACE FUNCTION archive_valuations(p_cutoff date)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_moved INTEGER;
BEGIN
    IF p_cutoff IS NULL THEN
        RAISE EXCEPTION 'archive_valuations: the cutoff date must not be NULL';
    END IF;
    WITH moved AS (
        DELETE FROM valuations AS v
        WHERE v.valuation_date < p_cutoff
        RETURNING v.*
    )
    INSERT INTO valuations_archive (
        id, company_id, user_id, valuation_method, valuation_date, low_valuation,
        high_valuation, final_valuation, confidence_score, currency, inputs, notes,
        status, created_at, updated_at
    )
    SELECT
        m.id, m.company_id, m.user_id, m.valuation_method, m.valuation_date,
        m.low_valuation, m.high_valuation, m.final_valuation, m.confidence_score,
        m.currency, m.inputs, m.notes, m.status, m.created_at, m.updated_at
    FROM moved AS m;
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    RETURN v_moved;
END;
$$;

COMMENT ON FUNCTION archive_valuations(date) IS
'Moves valuations with valuation_date before the cutoff into valuations_archive; returns how many moved.';
