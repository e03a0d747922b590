-- Phase data_guards (seed 001's synthetic-data rules as constraints), pre-checks.
-- The phase adds two CHECK constraints, NOT VALID and then validated: it changes no rows,
-- and the rows that could stop it are named by 0039's pre-check.

-- check: synthetic_marker_columns_in_place
-- The columns the constraints tie together exist with the types seed 001 gives them.
SELECT
    expected.table_name,
    expected.column_name
FROM (
    VALUES
    ('portfolio_metrics', 'is_synthetic', 'boolean'),
    ('portfolio_metrics', 'expires_at', 'timestamp with time zone'),
    ('esg_metrics', 'is_synthetic', 'boolean'),
    ('esg_metrics', 'expires_at', 'timestamp with time zone')
) AS expected (table_name, column_name, data_type)
WHERE NOT EXISTS (
        SELECT 1 FROM information_schema.columns AS c
        WHERE
            c.table_schema = current_schema()
            AND c.table_name = expected.table_name
            AND c.column_name = expected.column_name
            AND c.data_type = expected.data_type
    );
