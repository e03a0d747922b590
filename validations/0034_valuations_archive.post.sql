-- Post-checks for 0034_valuations_archive.

-- check: valuation_not_both_live_and_archived
SELECT v.id
FROM valuations AS v
INNER JOIN valuations_archive AS va ON v.id = va.id;
