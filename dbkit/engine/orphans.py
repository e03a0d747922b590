"""``dbkit validate --deep``: every foreign key proven row by row, from the catalog.

The validation files no longer hold one orphan anti-join per foreign key: a validated
constraint is PostgreSQL's guarantee (docs/decisions.md, issue 8). What that guarantee cannot
cover is a row written while the key was not enforced: ``session_replication_role = replica``
or ``ALTER TABLE ... DISABLE TRIGGER ALL`` (both superuser-only) skip the key's triggers and
leave ``convalidated`` true. The deep checks are generated from ``pg_constraint`` (so they
cannot drift from the schema), one per key of the schemas on the search path, validated or
not; each scans its whole child table, which is why they only run on request.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dbkit.plan.checks import Check

if TYPE_CHECKING:
    import psycopg

WHEN = "deep check of foreign keys"

# One row per foreign key: the child and parent as regclass text (quoted where needed), the
# key's column pairs and the child's primary-key columns, all quoted, in key order.
_KEYS = """
SELECT
    con.conname,
    con.conrelid::regclass::text,
    con.confrelid::regclass::text,
    ARRAY(
        SELECT quote_ident(a.attname)
        FROM unnest(con.conkey) WITH ORDINALITY AS k (attnum, n)
        INNER JOIN pg_catalog.pg_attribute AS a
            ON a.attrelid = con.conrelid AND a.attnum = k.attnum
        ORDER BY k.n
    ),
    ARRAY(
        SELECT quote_ident(a.attname)
        FROM unnest(con.confkey) WITH ORDINALITY AS k (attnum, n)
        INNER JOIN pg_catalog.pg_attribute AS a
            ON a.attrelid = con.confrelid AND a.attnum = k.attnum
        ORDER BY k.n
    ),
    ARRAY(
        SELECT quote_ident(a.attname)
        FROM pg_catalog.pg_index AS i
        CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, n)
        INNER JOIN pg_catalog.pg_attribute AS a
            ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = con.conrelid AND i.indisprimary
        ORDER BY k.n
    )
FROM pg_catalog.pg_constraint AS con
INNER JOIN pg_catalog.pg_namespace AS ns ON ns.oid = con.connamespace
WHERE con.contype = 'f' AND ns.nspname = ANY (current_schemas(false))
ORDER BY con.conrelid::regclass::text, con.conname
"""


def orphan_query(
    child: str, parent: str, columns: list[str], referenced: list[str], primary_key: list[str]
) -> str:
    """The anti-join that lists the rows of ``child`` whose key has no row in ``parent``
    (MATCH SIMPLE: a row with a NULL in the key refers to nothing). Pasteable into psql."""
    shown = [c for c in primary_key if c not in columns] + columns
    select = ",\n    ".join(f"t.{c}" for c in shown)
    not_null = "\n    AND ".join(f"t.{c} IS NOT NULL" for c in columns)
    match = " AND ".join(f"p.{r} = t.{c}" for c, r in zip(columns, referenced, strict=True))
    return (
        f"SELECT\n    {select}\nFROM {child} AS t\nWHERE\n    {not_null}\n"
        f"    AND NOT EXISTS (\n        SELECT 1 FROM {parent} AS p\n        WHERE {match}\n    )"
    )


def foreign_key_checks(conn: psycopg.Connection) -> list[Check]:
    """One orphan check per foreign key of the schemas on the search path, named after the
    constraint, located by it (``foreign key fk_x on table``)."""
    checks = []
    for name, child, parent, columns, referenced, primary_key in conn.execute(_KEYS):
        origin = f"foreign key {name} on {child}"
        checks.append(
            Check(
                name=name,
                kind="check",
                query=orphan_query(child, parent, columns, referenced, primary_key),
                path=Path(child),
                line=0,
                description=f"every {child} row has its {parent} row ({origin})",
                origin=origin,
            )
        )
    return checks
