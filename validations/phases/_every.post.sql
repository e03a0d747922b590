-- Checks every phase runs after its own post-checks: schema-wide rules that any phase
-- creating tables, keys or indexes could break. One home instead of a copy per phase
-- (dbkit runs validations/phases/_every.post.sql after every phase).
-- Each reads the schema the run migrates: current_schema(), the first schema of the
-- search_path, which is public for a database and the tenant's own schema in a
-- schema-per-tenant fleet run (docs/fleet.md); another tenant's tables, or a shared
-- schema listed after it, are not this run's to judge.

-- check: foreign_keys_validated
-- A foreign key added NOT VALID (or left unvalidated by a failed VALIDATE) says nothing
-- about rows that existed before it. Every validated key is PostgreSQL's guarantee that
-- no row lacks its parent, which is why no check re-proves it row by row (`dbkit
-- validate --deep` does, on demand).
SELECT
    con.conrelid::regclass AS table_name,
    con.conname
FROM pg_catalog.pg_constraint AS con
WHERE
    con.contype = 'f'
    AND con.connamespace = to_regnamespace(quote_ident(current_schema()))
    AND NOT con.convalidated;

-- check: foreign_keys_indexed
-- Every foreign key has a valid index led by its columns, or a unique one on some of them
-- (it finds the one row of a key by part of it): without one, ON DELETE actions, joins on
-- the key (and `dbkit validate --deep`) scan the whole child table.
SELECT
    con.conrelid::regclass AS table_name,
    con.conname
FROM pg_catalog.pg_constraint AS con
WHERE
    con.contype = 'f'
    AND con.connamespace = to_regnamespace(quote_ident(current_schema()))
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index AS i
        WHERE
            i.indrelid = con.conrelid
            AND i.indisvalid
            AND i.indpred IS NULL
            AND (
                (i.indkey::int2[])[0:cardinality(con.conkey) - 1] = con.conkey
                OR (
                    i.indisunique
                    AND (i.indkey::int2[])[0:i.indnkeyatts - 1] <@ con.conkey
                )
            )
    );

-- check: indexes_valid
-- A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind: it costs writes and
-- serves no reads.
SELECT i.indexrelid::regclass AS index_name
FROM pg_catalog.pg_index AS i
INNER JOIN pg_catalog.pg_class AS c ON i.indexrelid = c.oid
WHERE
    c.relnamespace = to_regnamespace(quote_ident(current_schema()))
    AND NOT (i.indisvalid AND i.indisready);

-- check: updated_at_triggers_present
-- Every table with an updated_at column has an enabled trigger calling
-- update_updated_at_column() (001's rule, applied to every table).
SELECT c.relname
FROM pg_catalog.pg_class AS c
INNER JOIN pg_catalog.pg_attribute AS a
    ON c.oid = a.attrelid AND a.attname = 'updated_at' AND NOT a.attisdropped
WHERE
    c.relkind IN ('r', 'p')
    AND c.relnamespace = to_regnamespace(quote_ident(current_schema()))
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger AS tg
        WHERE
            tg.tgrelid = c.oid
            AND tg.tgfoid = 'update_updated_at_column()'::regprocedure
            AND tg.tgenabled <> 'D'
    );
