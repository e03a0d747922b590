DROP TRIGGER IF EXISTS trg_valuations_record_history ON valuations;
DROP FUNCTION IF EXISTS record_valuation_change();
DROP TABLE IF EXISTS valuation_history;
