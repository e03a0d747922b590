-- Phase crm, post-checks: leads, their scores, insights, journey, activities,
-- conversations, forecasts and performance metrics.

-- check: leads_organization_id_references_organizations
SELECT
    t.id,
    t.organization_id
FROM leads AS t
WHERE
    t.organization_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM organizations AS p
        WHERE p.id = t.organization_id
    );

-- check: leads_assigned_to_references_users
SELECT
    t.id,
    t.assigned_to
FROM leads AS t
WHERE
    t.assigned_to IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.assigned_to
    );

-- check: leads_team_id_references_teams
SELECT
    t.id,
    t.team_id
FROM leads AS t
WHERE
    t.team_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM teams AS p
        WHERE p.id = t.team_id
    );

-- check: lead_scores_lead_id_references_leads
SELECT
    t.id,
    t.lead_id
FROM lead_scores AS t
WHERE
    t.lead_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM leads AS p
        WHERE p.id = t.lead_id
    );

-- check: ai_insights_lead_id_references_leads
SELECT
    t.id,
    t.lead_id
FROM ai_insights AS t
WHERE
    t.lead_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM leads AS p
        WHERE p.id = t.lead_id
    );

-- check: ai_insights_acknowledged_by_references_users
SELECT
    t.id,
    t.acknowledged_by
FROM ai_insights AS t
WHERE
    t.acknowledged_by IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.acknowledged_by
    );

-- check: journey_events_lead_id_references_leads
SELECT
    t.id,
    t.lead_id
FROM journey_events AS t
WHERE
    t.lead_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM leads AS p
        WHERE p.id = t.lead_id
    );

-- check: journey_events_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM journey_events AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: activities_lead_id_references_leads
SELECT
    t.id,
    t.lead_id
FROM activities AS t
WHERE
    t.lead_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM leads AS p
        WHERE p.id = t.lead_id
    );

-- check: activities_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM activities AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: conversations_lead_id_references_leads
SELECT
    t.id,
    t.lead_id
FROM conversations AS t
WHERE
    t.lead_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM leads AS p
        WHERE p.id = t.lead_id
    );

-- check: conversations_activity_id_references_activities
SELECT
    t.id,
    t.activity_id
FROM conversations AS t
WHERE
    t.activity_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM activities AS p
        WHERE p.id = t.activity_id
    );

-- check: forecasts_organization_id_references_organizations
SELECT
    t.id,
    t.organization_id
FROM forecasts AS t
WHERE
    t.organization_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM organizations AS p
        WHERE p.id = t.organization_id
    );

-- check: performance_metrics_user_id_references_users
SELECT
    t.id,
    t.user_id
FROM performance_metrics AS t
WHERE
    t.user_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM users AS p
        WHERE p.id = t.user_id
    );

-- check: performance_metrics_team_id_references_teams
SELECT
    t.id,
    t.team_id
FROM performance_metrics AS t
WHERE
    t.team_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM teams AS p
        WHERE p.id = t.team_id
    );
