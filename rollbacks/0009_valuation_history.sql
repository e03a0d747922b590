-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table, ban-drop-function
DROP TRIGGER IF EXISTS trg_valuations_record_history ON valuations;
DROP FUNCTION IF EXISTS record_valuation_change();
DROP TABLE IF EXISTS valuation_history;
