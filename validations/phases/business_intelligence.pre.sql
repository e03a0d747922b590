-- Phase business_intelligence (seed 000 phase 2), pre-checks.

-- check: valuations_company_id_references_companies
-- The history trigger copies company_id into a foreign key column: an orphan valuation would make every later update of it fail.
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
