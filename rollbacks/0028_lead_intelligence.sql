DROP TABLE IF EXISTS journey_events;
DROP TABLE IF EXISTS ai_insights;
DROP TABLE IF EXISTS lead_scores;
