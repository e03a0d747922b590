-- Phase identity, post-checks: organizations, users and teams reference each other
-- (users.team_id and teams.manager_id form a cycle, added in two steps by 0004).

-- check: users_email_unique_index
-- The seeds' UNIQUE (email) is enforced by the unique index idx_users_email.
SELECT 'idx_users_email' AS index_name
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index AS i
        WHERE
            i.indexrelid = to_regclass('idx_users_email')
            AND i.indisunique
            AND i.indisvalid
    );

-- check: foreign_keys_in_place
-- The foreign keys this phase added or relies on.
-- Each key exists and is validated, so PostgreSQL guarantees every row has its parent;
-- no anti-join over the child tables (docs/decisions.md; `dbkit validate --deep`
-- re-proves them row by row).
SELECT
    expected.table_name,
    expected.column_name,
    expected.referenced_table
FROM (
    VALUES
    ('users', 'organization_id', 'organizations'),
    ('users', 'team_id', 'teams'),
    ('teams', 'organization_id', 'organizations'),
    ('teams', 'manager_id', 'users')
) AS expected (table_name, column_name, referenced_table)
WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint AS con
        INNER JOIN pg_catalog.pg_attribute AS a
            ON con.conrelid = a.attrelid AND con.conkey[1] = a.attnum
        WHERE
            con.contype = 'f'
            AND con.convalidated
            AND con.conrelid = to_regclass(expected.table_name)
            AND con.confrelid = to_regclass(expected.referenced_table)
            AND cardinality(con.conkey) = 1
            AND a.attname = expected.column_name
    );
