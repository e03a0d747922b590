"""Zero data loss, checked: row counts (and content checksums) kept across a phase.

Before a phase's first migration runs, dbkit counts the rows of every table the phase could
touch (its SQL names it, or a function or trigger it reaches does; see :func:`suspects`) and
notes the catalog's estimate (``reltuples``) and file of every other table, and keeps a hash of
every row of the tables the phase declares preserved (``-- preserve: t1, t2``
in ``validations/phases/<phase>.pre.sql``). The snapshot is stored (``dbkit.phase_snapshots``,
``dbkit.preserved_rows``) so a later rollback of the phase, in another run, is compared
against it too. A table that disappeared or lost rows, or a preserved table whose existing
rows changed or went away, is a failed check. New rows are never a loss.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbkit.engine import registry
from dbkit.plan.checks import CheckResult
from dbkit.plan.literals import literal

if TYPE_CHECKING:
    import psycopg

_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname), c.relfilenode, c.reltuples
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
    exact: bool = True  # False: ``rows`` is the catalog's estimate (a table the phase never names)


@dataclass(frozen=True)
class Snapshot:
    phase: str
    tables: dict[str, TableState]
    id: int | None = None  # set once stored; preserved tables' row hashes hang off it

    def to_json(self) -> str:
        return json.dumps(
            {
                name: {
                    "rows": s.rows,
                    "columns": s.columns,
                    "filenode": s.filenode,
                    **({} if s.exact else {"exact": False}),
                }
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
                    v.get("exact", True),
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


def take(
    conn: psycopg.Connection,
    phase: str,
    preserve: tuple[str, ...] = (),
    sql_texts: list[str] | None = None,
) -> Snapshot:
    """The phase's snapshot: exact counts where rows could go, the catalog's estimate elsewhere.

    ``sql_texts`` are the phase's migration files (up and down); a table none of them can reach
    (:func:`suspects`) is never scanned: its ``reltuples`` and file are noted instead. Without
    ``sql_texts`` every table is counted. Preserved tables are always counted and hashed.
    """
    # A tenant's run counts its own schema's tables only (the name is a plain identifier,
    # checked by settings.validate_schema).
    tenant = registry.tenant_schema()
    query = (
        _TABLES
        if tenant is None
        else _TABLES.replace("ORDER BY 1", f"  AND n.nspname = '{tenant}'\nORDER BY 1")
    )
    listed = {row[0]: (row[1], row[2]) for row in conn.execute(query)}
    wanted = {_qualified(conn, w) for w in preserve} - {None}
    if sql_texts is None:
        exact = set(listed)
    else:
        reachable = suspects(conn, sql_texts, list(listed))
        exact = set(listed) if reachable is None else (reachable | wanted) & set(listed)
        # a table the statistics know nothing about (never analyzed) is counted
        exact |= {name for name, (_, estimate) in listed.items() if estimate < 0}
    counts = _count(conn, sorted(exact))
    tables = {
        name: TableState(counts[name], filenode=filenode)
        if name in exact
        else TableState(max(int(estimate), 0), filenode=filenode, exact=False)
        for name, (filenode, estimate) in listed.items()
    }
    for name in wanted:
        tables[name] = TableState(counts.get(name, 0), _columns(conn, name), listed[name][0])
    return Snapshot(phase, tables)


_CALL = re.compile(r"\b([a-z_][a-z0-9_$]*)\s*\(")
_NOT_A_CALL = re.compile(
    r"\b(?:execute\s+(?:function|procedure)|(?:create(?:\s+or\s+replace)?|drop|alter|comment"
    r"\s+on)\s+(?:function|procedure)(?:\s+if\s+exists)?)\s+(?:[a-z_][a-z0-9_$]*\.)?"
    r"[a-z_][a-z0-9_$]*\s*\("
)
_WORD = re.compile(r"[a-z_][a-z0-9_$]*")


def suspects(conn: psycopg.Connection, sql_texts: list[str], tables: list[str]) -> set[str] | None:
    """Tables the given SQL could remove rows from, by name: a superset, never a guess.

    A table is a suspect when the SQL names it; when a user function the SQL calls (or one
    those call) names it; when a trigger function of a suspect table names it; or when it
    references a suspect through ``ON DELETE CASCADE``. Returns None (count everything) when a
    call cannot be followed (a function in another language than SQL or PL/pgSQL).
    """
    by_word: dict[str, set[str]] = {}
    for name in tables:
        bare = name.rsplit(".", 1)[-1].replace('"', "").lower()
        by_word.setdefault(bare, set()).add(name)
    functions: dict[str, list[tuple[str, str]]] = {}
    for proname, lang, body in conn.execute(_USER_FUNCTIONS):
        functions.setdefault(proname.lower(), []).append((lang, body or ""))
    found: set[str] = set()
    seen_functions: set[str] = set()
    pending = [t.lower() for t in sql_texts]
    while pending:
        text = pending.pop()
        for word in set(_WORD.findall(text)):
            found |= by_word.get(word, set())
        calls = set(_CALL.findall(_NOT_A_CALL.sub(" ", text)))
        for call in calls & set(functions) - seen_functions:
            seen_functions.add(call)
            for lang, body in functions[call]:
                if lang not in ("sql", "plpgsql"):
                    return None
                pending.append(body.lower())
        if not pending:
            # triggers of suspect tables and cascading foreign keys widen the set
            more = []
            for relation, lang, body in conn.execute(_TRIGGER_FUNCTIONS, (sorted(found),)):
                if (
                    relation in found
                    and body is not None
                    and (relation, body) not in seen_functions
                ):
                    seen_functions.add((relation, body))  # type: ignore[arg-type]
                    if lang not in ("sql", "plpgsql"):
                        return None
                    more.append(body.lower())
            cascades = {r[0] for r in conn.execute(_CASCADES, (sorted(found),))} - found
            found |= cascades
            if cascades and not more:
                more.append("")  # look at the new tables' triggers too
            pending.extend(more)
    return found


_USER_FUNCTIONS = """
SELECT p.proname, l.lanname, p.prosrc
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_language AS l ON l.oid = p.prolang
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbkit')
  AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
"""

_TRIGGER_FUNCTIONS = """
SELECT format('%%I.%%I', n.nspname, c.relname), l.lanname, p.prosrc
FROM pg_trigger AS t
JOIN pg_class AS c ON c.oid = t.tgrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_proc AS p ON p.oid = t.tgfoid
JOIN pg_language AS l ON l.oid = p.prolang
WHERE NOT t.tgisinternal AND format('%%I.%%I', n.nspname, c.relname) = ANY (%s::text[])
"""

_CASCADES = """
SELECT format('%%I.%%I', n.nspname, c.relname)
FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_class AS p ON p.oid = con.confrelid
JOIN pg_namespace AS pn ON pn.oid = p.relnamespace
WHERE con.contype = 'f' AND con.confdeltype = 'c'
  AND format('%%I.%%I', pn.nspname, p.relname) = ANY (%s::text[])
"""


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
        filenode, kind, deleted, updated, inserted = now[name]
        if not state.exact:
            # never counted (the phase does not name it): its file changing (truncated,
            # rewritten) makes it a suspect; inside a migration, so does a net delete
            if filenode != state.filenode or (in_transaction and deleted > inserted):
                suspects.append(name)
            continue
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
        elif name in counts and not state.exact:
            filenode, _, deleted, _, inserted = now[name]
            if filenode == state.filenode:
                lost = deleted - inserted  # this transaction's own net delete: exact
                if lost > 0:
                    problem = {"table": name, "deleted_in_migration": lost, "lost": lost}
            elif counts[name] < state.rows * (1 - ESTIMATE_TOLERANCE):
                problem = {"table": name, "before_estimate": state.rows, "after": counts[name]}
                problem["lost"] = state.rows - counts[name]
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


# A table never counted whose file changed is compared with its estimate, within this margin.
ESTIMATE_TOLERANCE = 0.1

_WATCHED = """
SELECT w.name, c.relfilenode, c.relkind,
    pg_stat_get_xact_tuples_deleted(c.oid), pg_stat_get_xact_tuples_updated(c.oid),
    pg_stat_get_xact_tuples_inserted(c.oid)
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
