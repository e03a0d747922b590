-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS market_trends;
DROP TABLE IF EXISTS competitor_analysis;
DROP TABLE IF EXISTS ab_test_results;
DROP TABLE IF EXISTS ab_tests;
DROP TABLE IF EXISTS campaigns;
DROP TABLE IF EXISTS marketing_content;
