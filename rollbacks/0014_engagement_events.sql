DROP TABLE IF EXISTS subscription_events;
DROP TABLE IF EXISTS analytics_events;
DROP TABLE IF EXISTS token_transactions;
