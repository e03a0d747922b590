-- ValuAI phase 2 (business intelligence): UCaaS revenue cohorts, one row per company
-- and cohort month.

CREATE TABLE ucaas_cohort_analysis (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    company_id uuid,
    cohort_month date,
    initial_customers integer,
    revenue_month_0 numeric(15, 2),
    revenue_month_1 numeric(15, 2),
    revenue_month_6 numeric(15, 2),
    revenue_month_12 numeric(15, 2),
    CONSTRAINT pk_ucaas_cohort_analysis PRIMARY KEY (id),
    CONSTRAINT fk_ucaas_cohort_analysis_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id),
    CONSTRAINT uq_ucaas_cohort_analysis_company_month UNIQUE (company_id, cohort_month),
    CONSTRAINT ck_ucaas_cohort_analysis_initial_customers CHECK (initial_customers >= 0)
);
