-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-function
DROP TRIGGER IF EXISTS trg_ai_insights_notify ON ai_insights;
DROP TRIGGER IF EXISTS trg_lead_scores_notify ON lead_scores;
DROP TRIGGER IF EXISTS trg_leads_notify ON leads;
DROP FUNCTION IF EXISTS notify_lead_change();
