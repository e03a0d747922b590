DROP TABLE IF EXISTS conversations;
DROP TABLE IF EXISTS activities;
