-- Finalization: 000's company_performance view, as the seed wrote it. It needed
-- companies.revenue, valuations.final_valuation and valuations.confidence_score, which
-- no seed table had; 0005 and 0006 define them.
CREATE VIEW company_performance WITH (security_invoker = TRUE) AS
SELECT
    c.name,
    c.revenue,
    c.growth_rate,
    v.final_valuation,
    v.confidence_score
FROM companies AS c
LEFT JOIN valuations AS v ON c.id = v.company_id;

COMMENT ON VIEW company_performance IS
'Seed 000: each company with each of its valuations (companies without one appear once).';
