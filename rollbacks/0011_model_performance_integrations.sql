DROP TABLE IF EXISTS data_integrations;
DROP TABLE IF EXISTS ai_model_performance;
