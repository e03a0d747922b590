-- Finalization: 004's real-time readiness. Lead changes, new lead scores and AI
-- insights are announced with pg_notify on the channel lead_changes (LISTEN
-- lead_changes); the payload is a small JSON object (well under the 8000-byte limit):
-- {"table", "operation", "id", "lead_id", "organization_id", "status", "score"}.
-- Notifications are delivered only when the transaction commits.

CREATE OR REPLACE FUNCTION notify_lead_change()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_row JSONB;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_row := to_jsonb(OLD);
    ELSE
        v_row := to_jsonb(NEW);
    END IF;
    PERFORM pg_notify(
        'lead_changes',
        jsonb_build_object(
            'table', TG_TABLE_NAME,
            'operation', TG_OP,
            'id', v_row -> 'id',
            'lead_id', coalesce(v_row -> 'lead_id', v_row -> 'id'),
            'organization_id', v_row -> 'organization_id',
            'status', v_row -> 'status',
            'score', coalesce(v_row -> 'current_score', v_row -> 'score')
        )::TEXT
    );
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION notify_lead_change() IS
'AFTER trigger (seed 004 real-time updates): pg_notify on channel lead_changes with a JSON payload.';

CREATE TRIGGER trg_leads_notify
AFTER INSERT OR UPDATE OR DELETE ON leads
FOR EACH ROW EXECUTE FUNCTION notify_lead_change();
CREATE TRIGGER trg_lead_scores_notify
AFTER INSERT ON lead_scores
FOR EACH ROW EXECUTE FUNCTION notify_lead_change();
CREATE TRIGGER trg_ai_insights_notify
AFTER INSERT OR UPDATE ON ai_insights
FOR EACH ROW EXECUTE FUNCTION notify_lead_change();
