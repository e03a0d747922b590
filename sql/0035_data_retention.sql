-- Finalization: 004's GDPR/CCPA retention. data_retention_policies says, per category
-- of personal data, how long it is kept and whether it is then anonymized or deleted;
-- apply_data_retention() enforces it (run it from a scheduler) and reports what it did.
-- Change a period or an action with an UPDATE of the policy row: no migration needed.

CREATE TABLE data_retention_policies (
    data_category varchar(50) NOT NULL,
    retention_period interval NOT NULL,
    action varchar(10) NOT NULL,
    description text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    CONSTRAINT pk_data_retention_policies PRIMARY KEY (data_category),
    CONSTRAINT ck_data_retention_policies_data_category CHECK (
        data_category IN (
            'leads', 'journey_events', 'conversations', 'analytics_events',
            'login_attempts'
        )
    ),
    CONSTRAINT ck_data_retention_policies_action CHECK (
        action IN ('anonymize', 'delete')
    ),
    CONSTRAINT ck_data_retention_policies_retention_period CHECK (
        retention_period > interval '0'
    )
);

COMMENT ON TABLE data_retention_policies IS
'GDPR/CCPA retention (seed 004): per data category, how long personal data is kept and what happens after.';

CREATE TRIGGER update_data_retention_policies_updated_at
BEFORE UPDATE ON data_retention_policies
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

INSERT INTO data_retention_policies (data_category, retention_period, action, description)
VALUES
(
    'leads', interval '3 years', 'anonymize',
    'Leads without activity (created, updated, contacted) for the period lose name, '
    || 'contact details, address and free-form fields; the row stays for statistics.'
),
(
    'journey_events', interval '2 years', 'anonymize',
    'IP address, user agent and session id of old journey events are removed.'
),
(
    'conversations', interval '3 years', 'delete',
    'Conversation contents older than the period are deleted.'
),
(
    'analytics_events', interval '2 years', 'anonymize',
    'IP address, user agent, session id and city of old analytics events are removed.'
),
(
    'login_attempts', interval '1 year', 'delete',
    'Login attempts (usernames) older than the period are deleted.'
);

CREATE OR REPLACE FUNCTION apply_data_retention(p_as_of timestamptz DEFAULT now())
RETURNS TABLE (category text, applied_action text, rows_affected bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    v_policy RECORD;
    v_cutoff TIMESTAMPTZ;
    v_count BIGINT;
BEGIN
    FOR v_policy IN
        SELECT p.data_category, p.retention_period, p.action
        FROM data_retention_policies AS p
        ORDER BY p.data_category
    LOOP
        v_cutoff := p_as_of - v_policy.retention_period;
        CASE v_policy.data_category
            WHEN 'leads' THEN
                IF v_policy.action = 'delete' THEN
                    DELETE FROM leads AS l
                    WHERE greatest(l.created_at, l.updated_at, l.last_contacted_at) < v_cutoff;
                ELSE
                    UPDATE leads AS l
                    SET first_name = 'redacted',
                        last_name = 'redacted',
                        email = NULL,
                        phone = NULL,
                        job_title = NULL,
                        address = NULL,
                        communication_preference = '{}',
                        optimal_contact_time = '{}',
                        custom_fields = '{}',
                        anonymized_at = p_as_of
                    WHERE l.anonymized_at IS NULL
                      AND greatest(l.created_at, l.updated_at, l.last_contacted_at) < v_cutoff;
                END IF;
            WHEN 'journey_events' THEN
                IF v_policy.action = 'delete' THEN
                    DELETE FROM journey_events AS je WHERE je.occurred_at < v_cutoff;
                ELSE
                    UPDATE journey_events AS je
                    SET ip_address = NULL, user_agent = NULL, session_id = NULL
                    WHERE je.occurred_at < v_cutoff
                      AND (je.ip_address IS NOT NULL OR je.user_agent IS NOT NULL
                           OR je.session_id IS NOT NULL);
                END IF;
            WHEN 'conversations' THEN
                IF v_policy.action = 'delete' THEN
                    DELETE FROM conversations AS c WHERE c.created_at < v_cutoff;
                ELSE
                    UPDATE conversations AS c
                    SET subject = NULL, content = '[redacted]', entities = '[]',
                        metadata = '{}'
                    WHERE c.created_at < v_cutoff AND c.content <> '[redacted]';
                END IF;
            WHEN 'analytics_events' THEN
                IF v_policy.action = 'delete' THEN
                    DELETE FROM analytics_events AS ae WHERE ae.created_at < v_cutoff;
                ELSE
                    UPDATE analytics_events AS ae
                    SET ip_address = NULL, user_agent = NULL, session_id = NULL, city = NULL
                    WHERE ae.created_at < v_cutoff
                      AND (ae.ip_address IS NOT NULL OR ae.user_agent IS NOT NULL
                           OR ae.session_id IS NOT NULL OR ae.city IS NOT NULL);
                END IF;
            WHEN 'login_attempts' THEN
                IF v_policy.action = 'delete' THEN
                    DELETE FROM login_attempts AS la WHERE la.timestamp < v_cutoff;
                ELSE
                    UPDATE login_attempts AS la
                    SET username = NULL
                    WHERE la.timestamp < v_cutoff AND la.username IS NOT NULL;
                END IF;
        END CASE;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        category := v_policy.data_category;
        applied_action := v_policy.action;
        rows_affected := v_count;
        RETURN NEXT;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION apply_data_retention(timestamptz) IS
'GDPR/CCPA retention: anonymizes or deletes personal data older than each data_retention_policies period, as of p_as_of; one result row per category.';
