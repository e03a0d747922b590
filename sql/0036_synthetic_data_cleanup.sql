-- Finalization: 001's cleanup_expired_synthetic_data(), covering every table that has
-- is_synthetic/expires_at, children before parents, returning the number of rows
-- removed. Unlike 001's version (which deleted companies first and so failed on any
-- reference), a synthetic row still referenced by a row that is not being removed
-- (real data, or synthetic data that has not expired) is kept until that reference
-- goes: the guard is read from pg_constraint, so it covers every foreign key that
-- references the table, including ones added by later migrations.

CREATE OR REPLACE FUNCTION cleanup_expired_synthetic_data()
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    total_cleaned INTEGER := 0;
    table_count INTEGER;
    v_table TEXT;
    v_guard TEXT;
BEGIN
    FOREACH v_table IN ARRAY ARRAY[
        'token_transactions',
        'corporate_partnerships',
        'economic_impact',
        'esg_metrics',
        'portfolio_metrics',
        'investments',
        'companies'
    ] LOOP
        SELECT coalesce(string_agg(
            format(
                ' AND NOT EXISTS (SELECT 1 FROM %s AS r WHERE r.%I = t.%I)',
                con.conrelid::REGCLASS, child.attname, parent.attname
            ),
            ''
        ), '')
        INTO v_guard
        FROM pg_catalog.pg_constraint AS con
        JOIN pg_catalog.pg_attribute AS child
            ON child.attrelid = con.conrelid AND child.attnum = con.conkey[1]
        JOIN pg_catalog.pg_attribute AS parent
            ON parent.attrelid = con.confrelid AND parent.attnum = con.confkey[1]
        WHERE con.contype = 'f'
          AND con.confrelid = to_regclass(v_table)
          AND cardinality(con.conkey) = 1;

        EXECUTE format(
            'DELETE FROM %I AS t WHERE t.is_synthetic AND t.expires_at < CURRENT_TIMESTAMP%s',
            v_table, v_guard
        );
        GET DIAGNOSTICS table_count = ROW_COUNT;
        total_cleaned := total_cleaned + table_count;
    END LOOP;
    RETURN total_cleaned;
END;
$$;

COMMENT ON FUNCTION cleanup_expired_synthetic_data() IS
'Seed 001: deletes expired synthetic rows (is_synthetic AND expires_at < now) children first; returns rows removed.';
