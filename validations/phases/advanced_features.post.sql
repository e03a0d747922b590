-- Phase advanced_features, post-checks.

-- check: ai_model_performance_valuation_id_references_valuations
SELECT
    t.id,
    t.valuation_id
FROM ai_model_performance AS t
WHERE
    t.valuation_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM valuations AS p
        WHERE p.id = t.valuation_id
    );

-- check: data_integrations_company_id_references_companies
SELECT
    t.id,
    t.company_id
FROM data_integrations AS t
WHERE
    t.company_id IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM companies AS p
        WHERE p.id = t.company_id
    );
