"""Bulk mode: load a table without its secondary indexes and foreign keys, then rebuild them.

A row COPY-ed into a table with foreign keys costs the server one queued trigger event and one
index probe (with a row lock) in the parent per key, and one insertion per secondary index;
rebuilding an index by sorting the whole table once and validating a foreign key with one
anti-join is several times cheaper when the load is large next to what the table already
holds. So, for a table that gets at least :data:`MIN_ROWS` rows and at least as many rows as it
holds already (or for every table when forced), inside the load's single transaction:

1. read the exact definitions of its plain secondary indexes (``pg_get_indexdef``) and its
   foreign keys (``pg_get_constraintdef``), with their comments and ``CLUSTER ON`` mark;
2. drop them, COPY the rows;
3. recreate the indexes (``SET LOCAL maintenance_work_mem``), then add the foreign keys back
   with the same names and definitions, so PostgreSQL validates every row (a key ``NOT VALID``
   before stays ``NOT VALID``), and restore the comments.

Everything is transactional DDL: a refused row, a failed validation or a signal rolls back the
drops with the rows, and the catalog is exactly what it was. What is kept: primary keys, unique
constraints and indexes, exclusion constraints (they guard the generator's own keys, and other
tables' foreign keys depend on them), and every trigger: user triggers that fire on INSERT do
work the generator does not (the unified schema's audit triggers write ``billing_audit_log``,
its notify triggers signal listeners), and those that fire only on UPDATE cost nothing here.
The price: the dropped objects take ACCESS EXCLUSIVE locks on the table (and SHARE ROW
EXCLUSIVE on referenced tables) until the load commits, where a plain COPY takes ROW EXCLUSIVE;
``--no-bulk`` loads without them, for a database others use meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dbkit.plan.literals import identifier

if TYPE_CHECKING:
    import psycopg

MIN_ROWS = 10_000  # below this, dropping and rebuilding costs more than it saves
MAINTENANCE_WORK_MEM = "256MB"

_INDEXES = """
SELECT ic.relname, pg_get_indexdef(i.indexrelid), obj_description(i.indexrelid, 'pg_class'),
       i.indisclustered
FROM pg_catalog.pg_index AS i
JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
WHERE i.indrelid = %(oid)s
  AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
  AND i.indisvalid AND i.indisready AND i.indislive AND NOT i.indisreplident
  AND ic.reltablespace = 0  -- pg_get_indexdef does not say TABLESPACE: keep those in place
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS co WHERE co.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                    AND d.deptype IN ('e', 'x', 'P', 'S'))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a
                  WHERE a.attrelid = i.indexrelid AND a.attstattarget IS NOT NULL
                    AND a.attstattarget >= 0)
ORDER BY ic.relname
"""

_FOREIGN_KEYS = """
SELECT co.conname, pg_get_constraintdef(co.oid), obj_description(co.oid, 'pg_constraint')
FROM pg_catalog.pg_constraint AS co
WHERE co.conrelid = %(oid)s AND co.contype = 'f' AND co.conparentid = 0 AND co.coninhcount = 0
  AND co.conislocal
ORDER BY co.conname
"""

# the table itself: a plain table, neither inherited from nor inheriting, nor partitioned, that
# this role may drop indexes of (owner) and whose foreign keys it may add back (REFERENCES)
_ELIGIBLE = """
SELECT c.relkind = 'r' AND NOT c.relispartition
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits AS h
                       WHERE h.inhrelid = c.oid OR h.inhparent = c.oid)
       AND pg_has_role(c.relowner, 'USAGE')
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS co
                       WHERE co.conrelid = c.oid AND co.contype = 'f'
                         AND NOT has_table_privilege(co.confrelid, 'REFERENCES')),
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint
            ELSE coalesce(pg_stat_get_live_tuples(c.oid), 0) END
FROM pg_catalog.pg_class AS c WHERE c.oid = %(oid)s
"""


@dataclass
class Dropped:
    """What was taken off one table for its load, to put back exactly."""

    table: str  # quoted, schema-qualified
    indexes: list[tuple[str, str, str | None, bool]] = field(default_factory=list)
    foreign_keys: list[tuple[str, str, str | None]] = field(default_factory=list)

    def note(self) -> str:
        parts = []
        if self.indexes:
            parts.append(_count(len(self.indexes), "index", "indexes"))
        if self.foreign_keys:
            parts.append(_count(len(self.foreign_keys), "foreign key", "foreign keys"))
        what = " and ".join(parts) if parts else "nothing to drop"
        return f"bulk: loaded without its {what}, rebuilt and validated after"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def wanted(conn: psycopg.Connection, table_sql: str, rows: int, force: bool | None) -> bool:
    """Whether this table's load pays for dropping and rebuilding (``force`` True/False wins)."""
    if force is False or rows == 0:
        return False
    found = conn.execute(_ELIGIBLE, {"oid": _oid(conn, table_sql)}).fetchone()
    if found is None or not found[0]:
        return False
    if force:
        return True
    return rows >= MIN_ROWS and rows >= int(found[1] or 0)


def drop(conn: psycopg.Connection, table_sql: str) -> Dropped:
    """Read and drop the table's plain secondary indexes and its foreign keys."""
    oid = _oid(conn, table_sql)
    dropped = Dropped(table_sql)
    dropped.indexes = [tuple(r) for r in conn.execute(_INDEXES, {"oid": oid}).fetchall()]
    dropped.foreign_keys = [tuple(r) for r in conn.execute(_FOREIGN_KEYS, {"oid": oid}).fetchall()]
    for name, _definition, _comment in dropped.foreign_keys:
        conn.execute(f"ALTER TABLE {table_sql} DROP CONSTRAINT {identifier(name)}")
    schema = _schema_sql(conn, oid)
    for name, _definition, _comment, _clustered in dropped.indexes:
        conn.execute(f"DROP INDEX {schema}.{identifier(name)}")
    return dropped


def restore(conn: psycopg.Connection, dropped: Dropped) -> None:
    """Recreate the indexes, then add the foreign keys back (validated), with their comments."""
    from psycopg import sql

    table_sql = dropped.table
    if dropped.indexes:
        conn.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        conn.execute("SET LOCAL default_tablespace = ''")  # the database's, as they were
    schema = _schema_sql(conn, _oid(conn, table_sql)) if dropped.indexes else ""
    for name, definition, comment, clustered in dropped.indexes:
        conn.execute(definition)
        if comment is not None:
            conn.execute(
                sql.SQL("COMMENT ON INDEX {} IS {}").format(
                    sql.SQL(f"{schema}.{identifier(name)}"), sql.Literal(comment)
                )
            )
        if clustered:
            conn.execute(f"ALTER TABLE {table_sql} CLUSTER ON {identifier(name)}")
    for name, definition, comment in dropped.foreign_keys:
        conn.execute(f"ALTER TABLE {table_sql} ADD CONSTRAINT {identifier(name)} {definition}")
        if comment is not None:
            conn.execute(
                sql.SQL("COMMENT ON CONSTRAINT {} ON {} IS {}").format(
                    sql.Identifier(name), sql.SQL(table_sql), sql.Literal(comment)
                )
            )


def _oid(conn: psycopg.Connection, table_sql: str) -> int:
    return int(conn.execute("SELECT %s::regclass::oid", (table_sql,)).fetchone()[0])


def _schema_sql(conn: psycopg.Connection, oid: int) -> str:
    name = conn.execute(
        "SELECT n.nspname FROM pg_catalog.pg_class AS c "
        "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = %s",
        (oid,),
    ).fetchone()[0]
    return identifier(name)
