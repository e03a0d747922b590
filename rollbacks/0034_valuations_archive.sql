-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table, ban-drop-function
-- Archived valuations go back into valuations before the archive disappears, so the
-- rollback loses no data (the history trigger records them as restored).
DO $$
BEGIN
    PERFORM set_config('app.change_reason', 'restored from valuations_archive', TRUE);
    INSERT INTO valuations (
        id, company_id, user_id, valuation_method, valuation_date, low_valuation,
        high_valuation, final_valuation, confidence_score, currency, inputs, notes,
        status, created_at, updated_at
    )
    SELECT
        va.id, va.company_id, va.user_id, va.valuation_method, va.valuation_date,
        va.low_valuation, va.high_valuation, va.final_valuation, va.confidence_score,
        va.currency, va.inputs, va.notes, va.status, va.created_at, va.updated_at
    FROM valuations_archive AS va;
    PERFORM set_config('app.change_reason', '', TRUE);
END;
$$;

DROP FUNCTION IF EXISTS archive_valuations(date);
DROP TABLE IF EXISTS valuations_archive;
