"""Zero data loss, checked: row counts (and content checksums) kept across a phase.

Before a phase's first migration runs, dbkit counts the rows of every table that exists, and
keeps a hash of every row of the tables the phase declares preserved (``-- preserve: t1, t2``
in ``validations/phases/<phase>.pre.sql``). The snapshot is stored (``dbkit.phase_snapshots``,
``dbkit.preserved_rows``) so a later rollback of the phase, in another run, is compared
against it too. A table that disappeared or lost rows, or a preserved table whose existing
rows changed or went away, is a failed check. New rows are never a loss.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbkit.engine import registry
from dbkit.plan.checks import CheckResult
from dbkit.plan.literals import literal

if TYPE_CHECKING:
    import psycopg

_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname), c.relfilenode
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbkit')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT (n.nspname = current_schema() AND c.relname = 'alembic_version')
ORDER BY 1
"""


@dataclass(frozen=True)
class TableState:
    rows: int
    columns: tuple[str, ...] | None = None  # set for preserved tables: the hashed columns
    filenode: int | None = None  # changes when a table is truncated or rewritten


@dataclass(frozen=True)
class Snapshot:
    phase: str
    tables: dict[str, TableState]
    id: int | None = None  # set once stored; preserved tables' row hashes hang off it

    def to_json(self) -> str:
        return json.dumps(
            {
                name: {"rows": s.rows, "columns": s.columns, "filenode": s.filenode}
                for name, s in self.tables.items()
            }
        )

    @classmethod
    def from_json(cls, phase: str, data: str | dict[str, Any], id: int | None = None) -> Snapshot:
        raw = json.loads(data) if isinstance(data, str) else data
        return cls(
            phase,
            {
                name: TableState(
                    v["rows"],
                    tuple(v["columns"]) if v.get("columns") else None,
                    v.get("filenode"),
                )
                for name, v in raw.items()
            },
            id,
        )


def without(snapshot: Snapshot, tables: tuple[str, ...]) -> Snapshot:
    """The snapshot without the tables a migration declares it removes data from
    (``removes_data``): their rows may go, and later steps of the phase must not count them.

    Names match the snapshot's ``schema.table`` keys; a bare name means ``public``."""
    if not tables:
        return snapshot
    gone = {_key(t) for t in tables}
    kept = {n: s for n, s in snapshot.tables.items() if _key(n) not in gone}
    return Snapshot(snapshot.phase, kept, snapshot.id)


def _key(name: str) -> str:
    """``schema.table`` in lower case without quotes (``old_events`` -> ``public.old_events``)."""
    plain = name.replace('"', "").lower()
    return plain if "." in plain else f"public.{plain}"


def take(conn: psycopg.Connection, phase: str, preserve: tuple[str, ...] = ()) -> Snapshot:
    """Count every table's rows in one query; note the columns of the preserved ones."""
    # A tenant's run counts its own schema's tables only (the name is a plain identifier,
    # checked by settings.validate_schema).
    tenant = registry.tenant_schema()
    query = (
        _TABLES
        if tenant is None
        else _TABLES.replace("ORDER BY 1", f"  AND n.nspname = '{tenant}'\nORDER BY 1")
    )
    listed = {row[0]: row[1] for row in conn.execute(query)}
    counts = _count(conn, list(listed))
    tables = {name: TableState(counts[name], filenode=listed[name]) for name in listed}
    for wanted in preserve:
        name = _qualified(conn, wanted)
        if name is None:
            continue
        tables[name] = TableState(counts.get(name, 0), _columns(conn, name), listed.get(name))
    return Snapshot(phase, tables)


def watch_query(before: Snapshot) -> tuple[str, tuple] | None:
    """The query whose rows :func:`judge` needs, or None when nothing could be lost."""
    watched = [n for n, st in before.tables.items() if st.rows > 0 or st.columns is not None]
    if not watched:
        return None  # nothing existed that could be lost
    return _WATCHED, (watched,)


def compare(
    conn: psycopg.Connection, before: Snapshot, *, when: str, in_transaction: bool = False
) -> list[CheckResult]:
    """Failed checks for every table that lost rows, vanished or changed when preserved."""
    query = watch_query(before)
    if query is None:
        return []
    rows = conn.execute(*query).fetchall()
    return judge(conn, before, rows, when=when, in_transaction=in_transaction)


def judge(
    conn: psycopg.Connection,
    before: Snapshot,
    rows: list[tuple],
    *,
    when: str,
    in_transaction: bool = False,
) -> list[CheckResult]:
    """Judge the rows of :func:`watch_query` against the snapshot.

    ``in_transaction``: the changes to judge are all in the current transaction, so only the
    tables it deleted from, updated (when preserved), truncated or rewrote need counting; the
    rest cannot have lost a row. That keeps the check to one catalog query for a typical
    migration instead of a scan of every table.
    """
    now = {
        name: rest
        for name, *rest in rows
        if rest[0] is not None  # the table no longer exists under that name
    }
    watched = [name for name, *_ in rows]
    suspects = []
    for name in watched:
        state = before.tables[name]
        if name not in now:
            continue
        filenode, kind, deleted, updated = now[name]
        touched = deleted > 0 or filenode != state.filenode or kind == "p"
        if state.columns is not None:
            touched = touched or updated > 0
        if touched or not in_transaction:
            suspects.append(name)
    counts = _count(conn, suspects)
    failures = []
    for name in sorted(watched):
        state = before.tables[name]
        problem: dict[str, Any] | None = None
        if name not in now:
            if state.rows:
                problem = {"table": name, "before": state.rows, "after": None, "lost": state.rows}
        elif name in counts:
            rows_now = counts[name]
            if rows_now < state.rows:
                problem = {"table": name, "before": state.rows, "after": rows_now}
                problem["lost"] = state.rows - rows_now
            elif state.columns is not None:
                current = _columns(conn, name)
                missing = [c for c in state.columns if c not in current]
                if missing:
                    problem = {"table": name, "missing_columns": missing, "lost": rows_now}
                else:
                    changed = _changed_rows(conn, before, name, state.columns)
                    if changed:
                        problem = {"table": name, "changed_or_removed_rows": changed}
                        problem["lost"] = changed
        if problem is not None:
            failures.append(
                CheckResult(
                    name=f"data_preserved_{name.replace('.', '_')}",
                    location=f"phase {before.phase} data preservation",
                    rows_found=max(int(problem.get("lost") or 0), 1),
                    sample=[problem],
                    when=when,
                )
            )
    return failures


_WATCHED = """
SELECT w.name, c.relfilenode, c.relkind,
    pg_stat_get_xact_tuples_deleted(c.oid), pg_stat_get_xact_tuples_updated(c.oid)
FROM unnest(%s::text[]) AS w (name)
LEFT JOIN pg_class AS c ON c.oid = to_regclass(w.name)
"""


def _count(conn: psycopg.Connection, names: list[str]) -> dict[str, int]:
    """Exact row counts of the named tables, in one round trip."""
    if not names:
        return {}
    union = " UNION ALL ".join(f"SELECT {literal(name)}, count(*) FROM {name}" for name in names)
    return {name: count for name, count in conn.execute(union)}


def store(conn: psycopg.Connection, snapshot: Snapshot, revision_before: str | None) -> Snapshot:
    """Store the snapshot (and the preserved tables' row hashes); older ones of the phase go."""
    snapshot_id = conn.execute(
        registry.in_scope(
            "INSERT INTO dbkit.phase_snapshots (phase, revision_before, tables) "
            "VALUES (%s, %s, %s::jsonb) RETURNING id"
        ),
        (snapshot.phase, revision_before, snapshot.to_json()),
    ).fetchone()[0]
    for name, state in snapshot.tables.items():
        if state.columns is not None:
            conn.execute(
                _sql(
                    registry.history_schema(),
                    "INSERT INTO dbkit.preserved_rows (snapshot_id, relation, row_hash) "
                    "SELECT %s, %s, {hash} FROM {table}",
                    name,
                    state.columns,
                ),
                (snapshot_id, name),
            )
    conn.execute(
        registry.in_scope("DELETE FROM dbkit.phase_snapshots WHERE phase = %s AND id < %s"),
        (snapshot.phase, snapshot_id),
    )
    return Snapshot(snapshot.phase, snapshot.tables, snapshot_id)


def load(conn: psycopg.Connection, phase: str) -> Snapshot | None:
    row = conn.execute(
        registry.in_scope(
            "SELECT id, tables FROM dbkit.phase_snapshots WHERE phase = %s ORDER BY id DESC LIMIT 1"
        ),
        (phase,),
    ).fetchone()
    return Snapshot.from_json(phase, row[1], row[0]) if row else None


def _changed_rows(
    conn: psycopg.Connection, before: Snapshot, name: str, columns: tuple[str, ...]
) -> int:
    """Rows of a preserved table that existed before and are gone or different now."""
    query = _sql(
        registry.history_schema(),
        "SELECT count(*) FROM (SELECT row_hash FROM dbkit.preserved_rows "
        "WHERE snapshot_id = %s AND relation = %s EXCEPT ALL SELECT {hash} FROM {table}) AS gone",
        name,
        columns,
    )
    return conn.execute(query, (before.id, name)).fetchone()[0]


def _sql(registry_schema: str, template: str, name: str, columns: tuple[str, ...]):
    """Fill ``{hash}`` (md5 of the row over ``columns``) and ``{table}`` safely."""
    from psycopg import sql

    template = template.replace("dbkit.", f"{registry_schema}.")

    row = sql.SQL("ROW({})").format(sql.SQL(", ").join(map(sql.Identifier, columns)))
    return sql.SQL(template).format(hash=sql.SQL("md5({}::text)").format(row), table=sql.SQL(name))


def _qualified(conn: psycopg.Connection, name: str) -> str | None:
    row = conn.execute(
        "SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
        (name,),
    ).fetchone()
    return row[0] if row else None


def _columns(conn: psycopg.Connection, name: str) -> tuple[str, ...]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        (name,),
    ).fetchall()
    return tuple(r[0] for r in rows)
