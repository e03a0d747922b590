-- Phase advanced_features (seed 000 phase 3), pre-checks.

-- check: valuations_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM valuations AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );
