DROP TABLE IF EXISTS ucaas_cohort_analysis;
