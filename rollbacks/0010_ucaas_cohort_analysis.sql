-- A rollback exists to remove what its migration created: dropping is its job.
-- squawk-ignore-file ban-drop-table
DROP TABLE IF EXISTS ucaas_cohort_analysis;
