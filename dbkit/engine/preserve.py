"""Zero data loss, checked: row counts (and content checksums) kept across a phase.

Before a phase's first migration runs, dbkit counts the rows of every table the phase's SQL
can write (a statement of its files, or a function, trigger, rule or cascade one reaches can
change or remove its rows; see :func:`writable`) and notes the catalog's estimate
(``reltuples``) and file of every other table, and keeps a content digest of the tables the
phase declares preserved (``-- preserve: t1, t2`` in ``validations/phases/<phase>.pre.sql``)
that it can write; a preserved table it cannot write is noted as ``proven`` (its columns,
estimate and file), its rows never read. The digest is kept per primary-key range of
:data:`CHUNK_ROWS` rows, the
range's bounds, its row count and an order-independent digest (the sum of a 64-bit hash of each
row), so the storage is O(chunks), never a copy of the table. The snapshot is stored
(``dbkit.phase_snapshots``, ``dbkit.preserved_chunks``) so a later rollback of the phase, in
another run, is compared against it too. A table that disappeared or lost rows, or a preserved
table whose existing rows changed or went away, is a failed check naming the key ranges that
changed. New rows are never a loss: rows outside every stored range are new by construction;
a range whose digest differs is read a second time counting only the rows the snapshot's
transaction could see (by ``xmin``), so rows inserted inside it since are told apart from
rows changed or removed.

Inside each migration's transaction, its own tuple counters and the tables' files tell whether
a table can have lost rows at all (see :func:`judge`); a ``proven`` table the migration wrote
after all (an analysis that missed a path) is a failed check too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
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
  AND NOT (n.nspname = {version_schema} AND c.relname = 'alembic_version')
ORDER BY 1
"""


#: Rows per key range of a preserved table's digest (the last range may hold fewer).
CHUNK_ROWS = 10_000


@dataclass(frozen=True)
class Chunk:
    """One key range of a preserved table: bounds (the key columns' text, inclusive; None for
    a table digested whole), its rows and the sum of their 64-bit hashes."""

    number: int
    low: list[str] | None
    high: list[str] | None
    rows: int
    digest: int


@dataclass(frozen=True)
class TableState:
    rows: int
    columns: tuple[str, ...] | None = None  # set for preserved tables: the hashed columns
    filenode: int | None = None  # changes when a table is truncated or rewritten
    exact: bool = True  # False: ``rows`` is the catalog's estimate (a table the phase never names)
    # preserved tables digested per key range (registry 6): the key's columns and types
    # (() for a table without a usable key, digested whole) and the transaction snapshot
    # (txid_snapshot) the digest was read in; None: a registry-5 snapshot with row hashes
    key: tuple[str, ...] | None = None
    key_types: tuple[str, ...] | None = None
    seen: str | None = None
    # a preserved table not digested: the phase's SQL cannot write it (see writable())
    proven: bool = False
    # the session settings the digest's row text (and key bounds) were written under
    # (OUTPUT_SETTINGS, as (name, value) pairs); None: a digest of an older dbkit
    output: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class Snapshot:
    phase: str
    tables: dict[str, TableState]
    id: int | None = None  # set once stored; preserved tables' digests hang off it
    # preserved tables' key ranges, read by take() and written by store()
    chunks: dict[str, list[Chunk]] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> str:
        return json.dumps(
            {
                name: {
                    "rows": s.rows,
                    "columns": s.columns,
                    "filenode": s.filenode,
                    **({} if s.exact else {"exact": False}),
                    **({"proven": True} if s.proven else {}),
                    **(
                        {}
                        if s.key is None
                        else {"key": s.key, "key_types": s.key_types, "seen": s.seen}
                    ),
                    **({} if s.output is None else {"output": dict(s.output)}),
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
                    tuple(v["key"]) if v.get("key") is not None else None,
                    tuple(v["key_types"]) if v.get("key_types") is not None else None,
                    v.get("seen"),
                    v.get("proven", False),
                    tuple(v["output"].items()) if v.get("output") else None,
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
    return Snapshot(snapshot.phase, kept, snapshot.id, snapshot.chunks)


def _key(name: str) -> str:
    """``schema.table`` in lower case without quotes (``old_events`` -> ``public.old_events``)."""
    plain = name.replace('"', "").lower()
    return plain if "." in plain else f"public.{plain}"


def take(
    conn: psycopg.Connection,
    phase: str,
    preserve: tuple[str, ...] = (),
    sql_texts: list[str] | None = None,
    analyse: Analyse | None = None,
) -> Snapshot:
    """The phase's snapshot: exact counts where rows could go, the catalog's estimate elsewhere.

    ``sql_texts`` are the phase's files (up, down and level rollbacks); the tables their SQL
    can write (:func:`writable`) are counted exactly, the others are never scanned: their
    ``reltuples`` and file are noted instead. A preserved table the phase can write is
    digested per key range (:func:`digest`, which counts it too); one it cannot write is
    ``proven``: its columns, estimate and file are noted, its rows are not read. Without
    ``sql_texts`` every table is counted and every preserved table digested. ``analyse``
    gives the SQL analyses (``writes`` and ``body_writes`` of :mod:`dbkit.plan.sqltext`, the
    check book caches them by content).
    """
    # A tenant's run counts its own schema's tables only (the name is a plain identifier,
    # checked by settings.validate_schema).
    tenant = registry.tenant_schema()
    schema = registry.version_schema(conn)
    tables = _TABLES.replace(
        "{version_schema}", "current_schema()" if schema is None else literal(schema)
    )
    query = (
        tables
        if tenant is None
        else tables.replace("ORDER BY 1", f"  AND n.nspname = '{tenant}'\nORDER BY 1")
    )
    listed = {row[0]: (row[1], row[2]) for row in conn.execute(query)}
    wanted = {_qualified(conn, w) for w in preserve} - {None}
    if sql_texts is None:
        exact = set(listed)
    elif not listed:
        exact = set()  # no table yet (a first phase): nothing to reach, no catalog to read
    else:
        if analyse is None:
            from dbkit.plan import sqltext

            analyse = Analyse(sqltext.writes, sqltext.body_writes)
        analyses = [analyse.writes(t) for t in sql_texts]
        changed = writable(conn, analyses, list(listed), analyse.body_writes)
        exact = set(listed) if changed is None else changed & set(listed)
        # a table the statistics know nothing about (never analyzed) is counted
        exact |= {name for name, (_, estimate) in listed.items() if estimate < 0}
    proven = wanted - exact
    wanted &= exact
    counts = _count(conn, sorted(exact - wanted))
    tables = {
        name: TableState(counts[name], filenode=filenode)
        if name in exact - wanted
        else TableState(max(int(estimate), 0), filenode=filenode, exact=False)
        for name, (filenode, estimate) in listed.items()
    }
    for name in proven:
        filenode, estimate = listed[name]
        tables[name] = TableState(
            max(int(estimate), 0), _columns(conn, name), filenode, exact=False, proven=True
        )
    chunks = {}
    output = _output(conn) if wanted else None
    for name in wanted:
        columns = _columns(conn, name)
        key, key_types = _digest_key(conn, name)
        chunks[name], seen = digest(conn, name, columns, key)
        tables[name] = TableState(
            sum(c.rows for c in chunks[name]),
            columns,
            listed[name][0],
            key=key,
            key_types=key_types,
            seen=seen,
            output=output,
        )
    return Snapshot(phase, tables, chunks=chunks)


#: The settings a row's text depends on: the digest hashes each row's text and keeps its key
#: bounds as text, so a later comparison (a rollback in another session, under another
#: ``PGTZ`` or ``DateStyle``) must read them under the same ones. ``search_path`` (the text
#: of ``regclass``-like columns) is not among them: the comparison's own names depend on it.
OUTPUT_SETTINGS = (
    "TimeZone",
    "DateStyle",
    "IntervalStyle",
    "extra_float_digits",
    "bytea_output",
    "lc_monetary",
)


def _output(conn: psycopg.Connection) -> tuple[tuple[str, str], ...]:
    """This session's :data:`OUTPUT_SETTINGS`."""
    values = conn.execute(
        "SELECT " + ", ".join(f"current_setting('{name}')" for name in OUTPUT_SETTINGS)
    ).fetchone()
    return tuple(zip(OUTPUT_SETTINGS, values, strict=True))


@contextmanager
def _output_as(conn: psycopg.Connection, wanted: tuple[tuple[str, str], ...] | None):
    """Read rows' text under the settings a digest was taken with (``wanted``), then put this
    session's back. Session-level ``set_config`` (a local one would not outlive its statement
    in autocommit); a transaction that fails in between undoes it by itself."""
    current = _output(conn) if wanted else ()
    change = dict(wanted or ()).items() - dict(current).items()
    if not change:
        yield
        return

    def put(pairs) -> None:
        params = [value for pair in pairs for value in pair]
        calls = ", ".join("set_config(%s, %s, false)" for _ in pairs)
        conn.execute(f"SELECT {calls}", params)

    put(sorted(change))
    try:
        yield
    finally:
        from psycopg import pq

        if conn.info.transaction_status != pq.TransactionStatus.INERROR:
            put([(name, value) for name, value in current if name in dict(change)])


@dataclass(frozen=True)
class Analyse:
    """The SQL analyses :func:`take` uses (the check book's cached ones in a run)."""

    writes: Callable[[str], dict[str, Any]]
    body_writes: Callable[[str, str, str | None], dict[str, Any]]


def writable(
    conn: psycopg.Connection,
    analyses: list[dict[str, Any]],
    tables: list[str],
    body_writes: Callable[[str, str, str | None], dict[str, Any]] | None = None,
) -> set[str] | None:
    """The tables (of ``tables``) whose existing rows the analysed SQL can change or remove.

    ``analyses`` are :func:`dbkit.plan.sqltext.writes` of the phase's files; ``body_writes``
    analyses a function's body (:func:`dbkit.plan.sqltext.body_writes`, cached by the caller).
    From the statements' own writes, the set grows to a fixed point with what PostgreSQL runs
    or changes because of a write, read from the catalog and from the files' definitions:
    functions called (their bodies' writes; a body with dynamic SQL adds every table it names),
    triggers and rules of written tables, functions a written table's defaults, checks and
    index expressions call, functions of views read, base tables of written views, inheritance
    parents and children, ``ON DELETE/UPDATE CASCADE/SET NULL/SET DEFAULT`` children of changed
    parents (every child for ``TRUNCATE .. CASCADE``), event triggers. Returns None (every
    table may change) when something cannot be bounded: a function in a language other than
    SQL or PL/pgSQL, a statement the analysis does not know (see ``unbounded``).
    PostgreSQL's own functions (created by initdb) and functions of extensions are taken not to
    write the user's tables; any other function is analysed, whatever its schema.
    """
    if body_writes is None:
        from dbkit.plan.sqltext import body_writes
    by_bare: dict[str, set[str]] = {}
    for name in tables:
        by_bare.setdefault(_bare(name), set()).add(name)
    catalog = _Catalog(conn)
    defined_functions: dict[str, list[list[str]]] = {}
    defined_triggers: dict[str, set[str]] = {}
    fks = dict(catalog.fks)
    for analysis in analyses:
        for name, lang, body, text in analysis["functions"]:
            defined_functions.setdefault(name, []).append([lang, body, text])
        for table, function in analysis["triggers"]:
            defined_triggers.setdefault(_bare(table), set()).add(_bare(function))
        for child, parent, on_delete, on_update in analysis["fks"]:
            if child and parent:
                fks.setdefault(_bare(parent), set()).add(
                    (_bare(child), on_delete in "cnd" or on_update in "cnd")
                )
    changed: set[str] = set()
    written: set[str] = set()  # changed or inserted into
    read: set[str] = set()
    truncated: set[str] = set()
    calls: set[str] = set()
    followed: set[Any] = set()
    pending = list(analyses)
    pending += [body_writes(lang, body, text) for lang, body, text in catalog.event_triggers]
    pending += [catalog.analysed(oid, body_writes) for oid in catalog.implicit]
    while pending:
        while pending:
            analysis = pending.pop()
            if analysis["unbounded"]:
                return None
            words = set(analysis["named"])
            changed |= {_bare(n) for n in analysis["changes"]} | (words & set(by_bare))
            written |= {_bare(n) for n in analysis["changes"] + analysis["inserts"]}
            written |= words & set(by_bare)
            read |= {_bare(n) for n in analysis["reads"]}
            truncated |= {_bare(n) for n in analysis["truncate_cascade"]}
            calls |= {_bare(n) for n in analysis["calls"]}
            calls |= words & (catalog.function_names | set(defined_functions))
            for call in sorted(calls):
                if ("call", call) in followed:
                    continue
                followed.add(("call", call))
                for lang, body, text in defined_functions.get(call, []):
                    pending.append(body_writes(lang, body, text))
                for oid in catalog.functions_named.get(call, ()):
                    pending.append(catalog.analysed(oid, body_writes))
        # what writing (or reading) a relation makes PostgreSQL do
        for relation in sorted(written | read):
            if ("relation", relation) in followed:
                continue
            followed.add(("relation", relation))
            for oid in catalog.view_functions.get(relation, ()):
                pending.append(catalog.analysed(oid, body_writes))
            if relation not in written:
                continue
            if relation in catalog.foreign:
                return None  # a foreign table's server may be this database (postgres_fdw)
            for oid in catalog.code.get(relation, ()):  # triggers, defaults, checks, indexes
                pending.append(catalog.analysed(oid, body_writes))
            for function in defined_triggers.get(relation, ()):
                for lang, body, text in defined_functions.get(function, []):
                    pending.append(body_writes(lang, body, text))
                for oid in catalog.functions_named.get(function, ()):
                    pending.append(catalog.analysed(oid, body_writes))
            for rule in sorted(catalog.rules.get(relation, ())):
                from dbkit.plan.sqltext import writes

                pending.append(writes(rule))
            # a view written writes its base tables; a parent its children, a child its parent
            more = catalog.view_bases.get(relation, set()) | catalog.family.get(relation, set())
            if relation in changed and more - changed:
                changed |= more
                for name in more:
                    followed.discard(("relation", name))
            written |= more
        grown = True
        while grown:  # foreign keys: changed parents change their acting children
            grown = False
            for parent in sorted(changed):
                for child, acts in fks.get(parent, ()):
                    if (acts or parent in truncated) and child not in changed:
                        changed.add(child)
                        written.add(child)
                        if parent in truncated:
                            truncated.add(child)
                        followed.discard(("relation", child))
                        grown = True
        if not pending:
            done = all(("relation", r) in followed for r in written | read)
            pending = [] if done else [_no_writes()]
    return {name for bare in changed for name in by_bare.get(bare, ())}


def _no_writes() -> dict[str, Any]:
    from dbkit.plan import sqltext

    return sqltext.no_writes()


def _bare(name: str) -> str:
    """A relation's or function's name without schema and quotes, in lower case."""
    return name.rsplit(".", 1)[-1].replace('"', "").lower()


class _Catalog:
    """What :func:`writable` needs of the catalog, read once (a few queries, no table data)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.functions: dict[int, tuple[str, str, str]] = {}
        self.functions_named: dict[str, list[int]] = {}
        for oid, name, lang, body in conn.execute(_USER_FUNCTIONS):
            self.functions[oid] = (lang, body or "", "")
            self.functions_named.setdefault(name.lower(), []).append(oid)
        self.function_names = set(self.functions_named)
        self.code: dict[str, set[int]] = {}
        for relation, oid in conn.execute(_TABLE_CODE):
            self.code.setdefault(_bare(relation), set()).add(oid)
        self.fks: dict[str, set[tuple[str, bool]]] = {}
        for child, parent, acts in conn.execute(_FOREIGN_KEYS):
            self.fks.setdefault(_bare(parent), set()).add((_bare(child), acts))
        self.family: dict[str, set[str]] = {}
        for child, parent in conn.execute(_INHERITS):
            self.family.setdefault(_bare(child), set()).add(_bare(parent))
            self.family.setdefault(_bare(parent), set()).add(_bare(child))
        self.rules: dict[str, set[str]] = {}
        self.view_bases: dict[str, set[str]] = {}
        self.view_functions: dict[str, set[int]] = {}
        for relation, rule, base, function in conn.execute(_RULES):
            if rule is not None:
                self.rules.setdefault(_bare(relation), set()).add(rule)
            if base is not None:
                self.view_bases.setdefault(_bare(relation), set()).add(_bare(base))
            if function is not None:
                self.view_functions.setdefault(_bare(relation), set()).add(function)
        self.foreign = {_bare(name) for (name,) in conn.execute(_FOREIGN_TABLES)}
        self.event_triggers = [
            (lang, body or "", definition or "")
            for lang, body, definition in conn.execute(_EVENT_TRIGGERS)
        ]
        self.implicit = sorted(
            oid for (oid,) in conn.execute(_IMPLICIT_FUNCTIONS) if oid in self.functions
        )
        self._analysed: dict[int, dict[str, Any]] = {}

    def analysed(self, oid: int, body_writes) -> dict[str, Any]:
        if oid not in self._analysed:
            if oid not in self.functions:  # PostgreSQL's own or an extension's function
                self._analysed[oid] = _no_writes()
            else:
                lang, body, _ = self.functions[oid]
                definition = None
                if lang == "plpgsql" or (lang == "sql" and not body.strip()):
                    definition = self.conn.execute(
                        "SELECT pg_get_functiondef(%s::oid)", (oid,)
                    ).fetchone()[0]
                self._analysed[oid] = body_writes(lang, body, definition)
        return self._analysed[oid]


# Functions created after initdb (FirstNormalObjectId), in whichever schema: a superuser's
# function in pg_catalog, or one in the dbkit schema, is the user's too (dbkit has none).
_USER_FUNCTIONS = """
SELECT p.oid::bigint, p.proname, l.lanname, p.prosrc
FROM pg_proc AS p
JOIN pg_language AS l ON l.oid = p.prolang
WHERE p.oid >= 16384
  AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
"""

# Functions that writing a table runs: its triggers (internal ones are the foreign keys')
# and their WHEN conditions, and the functions its column defaults, checks, index and
# statistics expressions call (an index's own name leads to them too: REINDEX INDEX).
_TABLE_CODE = """
SELECT t.tgrelid::regclass::text, t.tgfoid::bigint
FROM pg_trigger AS t WHERE NOT t.tgisinternal
UNION
SELECT t.tgrelid::regclass::text, d.refobjid::bigint
FROM pg_depend AS d JOIN pg_trigger AS t ON t.oid = d.objid
WHERE d.classid = 'pg_trigger'::regclass AND d.refclassid = 'pg_proc'::regclass
  AND NOT t.tgisinternal
UNION
SELECT s.stxrelid::regclass::text, d.refobjid::bigint
FROM pg_depend AS d JOIN pg_statistic_ext AS s ON s.oid = d.objid
WHERE d.classid = 'pg_statistic_ext'::regclass AND d.refclassid = 'pg_proc'::regclass
UNION
SELECT owner.relid::regclass::text, d.refobjid::bigint
FROM pg_depend AS d JOIN pg_index AS i ON i.indexrelid = d.objid
CROSS JOIN LATERAL (VALUES (i.indexrelid), (i.indrelid)) AS owner (relid)
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_proc'::regclass
UNION
SELECT a.adrelid::regclass::text, d.refobjid::bigint
FROM pg_depend AS d JOIN pg_attrdef AS a ON a.oid = d.objid
WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_proc'::regclass
UNION
SELECT c.conrelid::regclass::text, d.refobjid::bigint
FROM pg_depend AS d JOIN pg_constraint AS c ON c.oid = d.objid
WHERE d.classid = 'pg_constraint'::regclass AND d.refclassid = 'pg_proc'::regclass
  AND c.conrelid <> 0
"""

# Foreign keys: child, parent, and whether a change of the parent changes the child's rows.
_FOREIGN_KEYS = """
SELECT con.conrelid::regclass::text, con.confrelid::regclass::text,
    con.confdeltype IN ('c', 'n', 'd') OR con.confupdtype IN ('c', 'n', 'd')
FROM pg_constraint AS con WHERE con.contype = 'f'
"""

_INHERITS = "SELECT inhrelid::regclass::text, inhparent::regclass::text FROM pg_inherits"

# Rules other than a view's own (their actions run with the write), a view's base relations
# and the functions it calls (they run when it is read).
_RULES = """
SELECT r.ev_class::regclass::text,
    CASE WHEN r.rulename <> '_RETURN' THEN pg_get_ruledef(r.oid) END,
    CASE WHEN d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
        THEN d.refobjid::regclass::text END,
    CASE WHEN d.refclassid = 'pg_proc'::regclass THEN d.refobjid::bigint END
FROM pg_rewrite AS r
JOIN pg_class AS c ON c.oid = r.ev_class
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
    AND d.refclassid IN ('pg_class'::regclass, 'pg_proc'::regclass)
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
"""

# Functions PostgreSQL runs with no call, trigger or table naming them, wherever their
# objects are used: operators, casts, aggregates' support functions, operator classes'
# support functions, types' (a domain's default, a range's), domains' checks, row-level
# security policies' expressions (of a table read through a view, too). Each is analysed
# for every phase: most write nothing, and cost nothing more than their analysis.
_IMPLICIT_FUNCTIONS = """
SELECT DISTINCT d.refobjid::bigint
FROM pg_depend AS d
WHERE d.refclassid = 'pg_proc'::regclass AND (
    d.classid IN ('pg_operator'::regclass, 'pg_cast'::regclass, 'pg_type'::regclass,
        'pg_amproc'::regclass, 'pg_policy'::regclass, 'pg_transform'::regclass)
    OR d.classid = 'pg_proc'::regclass
    AND EXISTS (SELECT 1 FROM pg_aggregate AS a WHERE a.aggfnoid = d.objid)
    OR d.classid = 'pg_constraint'::regclass
    AND EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.oid = d.objid AND c.contypid <> 0)
)
"""

_FOREIGN_TABLES = "SELECT oid::regclass::text FROM pg_class WHERE relkind = 'f'"

_EVENT_TRIGGERS = """
SELECT l.lanname, p.prosrc,
    CASE WHEN l.lanname = 'plpgsql' THEN pg_get_functiondef(p.oid) END
FROM pg_event_trigger AS e
JOIN pg_proc AS p ON p.oid = e.evtfoid
JOIN pg_language AS l ON l.oid = p.prolang
WHERE e.evtenabled <> 'D'
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
            # never counted (the phase cannot write it): its file changing (truncated,
            # rewritten) makes it a suspect; inside a migration, so does a net delete, and
            # for a preserved table proven unwritable, any write or lost column
            if (
                filenode != state.filenode
                or (in_transaction and deleted > inserted)
                or (state.proven and in_transaction and (deleted or updated))
                or (state.proven and _lost_columns(conn, name, state))
            ):
                suspects.append(name)
            continue
        touched = deleted > 0 or filenode != state.filenode or kind == "p"
        if state.columns is not None:
            touched = touched or updated > 0 or _lost_columns(conn, name, state)
        if touched or not in_transaction:
            suspects.append(name)
    # a preserved table digested per key range is compared range by range, not counted
    counts = _count(conn, [n for n in suspects if before.tables[n].key is None])
    counts.update({n: -1 for n in suspects if before.tables[n].key is not None})
    failures = []
    for name in sorted(watched):
        state = before.tables[name]
        problem: dict[str, Any] | None = None
        if name not in now:
            if state.rows:
                problem = {"table": name, "before": state.rows, "after": None, "lost": state.rows}
        elif name in counts and state.proven and _lost_columns(conn, name, state):
            missing = _lost_columns(conn, name, state)
            problem = {"table": name, "missing_columns": missing, "lost": state.rows}
        elif name in counts and state.proven and in_transaction and (now[name][2] or now[name][3]):
            _, _, deleted, updated, _ = now[name]
            problem = {
                "table": name,
                "written_although_proven": {"deleted": deleted, "updated": updated},
                "lost": deleted + updated,
            }
        elif name in counts and not state.exact:
            filenode, _, deleted, _, inserted = now[name]
            if filenode == state.filenode:
                lost = deleted - inserted  # this transaction's own net delete: exact
                if lost > 0:
                    problem = {"table": name, "deleted_in_migration": lost, "lost": lost}
            elif counts[name] < state.rows * (1 - ESTIMATE_TOLERANCE):
                problem = {"table": name, "before_estimate": state.rows, "after": counts[name]}
                problem["lost"] = state.rows - counts[name]
        elif name in counts and state.key is not None:
            missing = _lost_columns(conn, name, state)
            if missing:
                problem = {"table": name, "missing_columns": missing, "lost": state.rows}
            else:
                ranges = changed_ranges(conn, before, name, state)
                if ranges:
                    lost = sum(r["changed"] for r in ranges)
                    problem = {"table": name, "changed_or_removed_rows": lost, "lost": lost}
                    problem["ranges"] = ranges[:RANGES_SHOWN]
                    problem["ranges_changed"] = len(ranges)
                    problem["key"] = list(state.key or ())
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


def _lost_columns(conn: psycopg.Connection, name: str, state: TableState) -> list[str]:
    """Columns of a preserved table's digest that no longer exist (a catalog query)."""
    current = _columns(conn, name)
    return [c for c in state.columns or () if c not in current]


# Changed key ranges named in a failed check's sample (the count says how many in all).
RANGES_SHOWN = 5

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
    """Store the snapshot (and the preserved tables' key ranges); older ones of the phase go."""
    snapshot_id = conn.execute(
        registry.in_scope(
            "INSERT INTO dbkit.phase_snapshots (phase, revision_before, tables) "
            "VALUES (%s, %s, %s::jsonb) RETURNING id"
        ),
        (snapshot.phase, revision_before, snapshot.to_json()),
    ).fetchone()[0]
    schema = registry.history_schema()
    chunk_rows = [
        (snapshot_id, name, c.number, _json(c.low), _json(c.high), c.rows, c.digest)
        for name, chunks in snapshot.chunks.items()
        for c in chunks
    ]
    if chunk_rows:
        with conn.cursor().copy(
            f"COPY {schema}.preserved_chunks (snapshot_id, relation, chunk, low_key, high_key, "
            "row_count, digest) FROM STDIN"
        ) as copy:
            for row in chunk_rows:
                copy.write_row(row)
    conn.execute(
        registry.in_scope("DELETE FROM dbkit.phase_snapshots WHERE phase = %s AND id < %s"),
        (snapshot.phase, snapshot_id),
    )
    return Snapshot(snapshot.phase, snapshot.tables, snapshot_id, snapshot.chunks)


def _json(value: list[str] | None) -> str | None:
    return None if value is None else json.dumps(value)


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
    """Rows of a preserved table that existed before and are gone or different now, against
    the row hashes of a registry-5 snapshot (``dbkit.preserved_rows``)."""
    query = _sql(
        registry.history_schema(),
        "SELECT count(*) FROM (SELECT row_hash FROM dbkit.preserved_rows "
        "WHERE snapshot_id = %s AND relation = %s EXCEPT ALL SELECT {hash} FROM {table}) AS gone",
        name,
        columns,
    )
    return conn.execute(query, (before.id, name)).fetchone()[0]


_KEY = """
SELECT array_agg(a.attname ORDER BY k.n), array_agg(format_type(a.atttypid, a.atttypmod)
    ORDER BY k.n)
FROM pg_index AS i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, n)
JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s::regclass AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
  AND i.indexprs IS NULL AND k.n <= i.indnkeyatts
GROUP BY i.indexrelid, i.indisprimary
HAVING bool_and(a.attnotnull)
ORDER BY i.indisprimary DESC, count(*), i.indexrelid
LIMIT 1
"""


def _digest_key(conn: psycopg.Connection, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The key a preserved table is digested by: its primary key, else its narrowest unique
    index over NOT NULL columns (no predicate, no expression); ``((), ())`` when it has
    neither (the table is then digested whole, as one range)."""
    row = conn.execute(_KEY, (name,)).fetchone()
    return (tuple(row[0]), tuple(row[1])) if row else ((), ())


def _hash_sql(columns: tuple[str, ...]):
    from psycopg import sql

    row = sql.SQL("ROW({})").format(sql.SQL(", ").join(sql.Identifier("t", c) for c in columns))
    return sql.SQL("hashtextextended({}::text, 0)").format(row)


def digest(
    conn: psycopg.Connection, name: str, columns: tuple[str, ...], key: tuple[str, ...]
) -> tuple[list[Chunk], str]:
    """The table's key ranges of :data:`CHUNK_ROWS` rows in key order (bounds, rows, digest)
    in one ordered pass, and the transaction snapshot that pass saw (``txid_snapshot``)."""
    from psycopg import sql

    table = sql.SQL(name)
    hashed = _hash_sql(columns)
    if not key:
        query = sql.SQL(
            "SELECT 0, NULL, NULL, count(*), coalesce(sum({h}), 0), "
            "txid_current_snapshot()::text FROM {t} AS t"
        ).format(h=hashed, t=table)
    else:
        order = sql.SQL(", ").join(sql.Identifier("t", k) for k in key)
        bound = sql.SQL("jsonb_build_array({})").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier("t", k)) for k in key)
        )
        n = sql.Literal(CHUNK_ROWS)
        query = sql.SQL(
            "SELECT (rn - 1) / {n}, (array_agg(k) FILTER (WHERE (rn - 1) % {n} = 0))[1], "
            "(array_agg(k) FILTER (WHERE rn % {n} = 0 OR last))[1], count(*), sum(h), "
            "txid_current_snapshot()::text "
            "FROM (SELECT row_number() OVER w AS rn, lead(true) OVER w IS NULL AS last, "
            "CASE WHEN (row_number() OVER w - 1) % {n} = 0 OR row_number() OVER w % {n} = 0 "
            "OR lead(true) OVER w IS NULL THEN {bound} END AS k, {h} AS h "
            "FROM {t} AS t WINDOW w AS (ORDER BY {order})) AS r GROUP BY 1 ORDER BY 1"
        ).format(n=n, bound=bound, h=hashed, t=table, order=order)
    rows = conn.execute(query).fetchall()
    if not rows or rows[0][3] == 0:
        seen = conn.execute("SELECT txid_current_snapshot()::text").fetchone()[0]
        return [], seen
    chunks = [Chunk(r[0], r[1], r[2], r[3], int(r[4] or 0)) for r in rows]
    return chunks, rows[0][5]


def _range_sql(key: tuple[str, ...], key_types: tuple[str, ...]):
    """``t``'s key within the range of chunk ``c`` (bounds cast back to the key's types)."""
    from psycopg import sql

    if not key:
        return sql.SQL("true")
    mine = sql.SQL(", ").join(sql.Identifier("t", k) for k in key)

    def bound(column: str):
        return sql.SQL(", ").join(
            sql.SQL("(c.{b} ->> {i})::{ty}").format(
                b=sql.Identifier(column), i=sql.Literal(i), ty=sql.SQL(ty)
            )
            for i, ty in enumerate(key_types)
        )

    return sql.SQL("ROW({m}) >= ROW({lo}) AND ROW({m}) <= ROW({hi})").format(
        m=mine, lo=bound("low_key"), hi=bound("high_key")
    )


def _xmin_seen_sql(conn: psycopg.Connection):
    """Whether row ``t`` was written before the snapshot ``%(seen)s`` (its xmin, made a 64-bit
    txid against the current epoch, is visible in it): rows inserted or updated since are not."""
    from psycopg import sql

    now = conn.execute("SELECT txid_snapshot_xmax(txid_current_snapshot())").fetchone()[0]
    base, low = now - now % 2**32, now % 2**32
    return sql.SQL(
        "txid_visible_in_snapshot({base} + t.xmin::text::bigint - CASE WHEN "
        "t.xmin::text::bigint > {low} THEN 4294967296 ELSE 0 END, %(seen)s::txid_snapshot)"
    ).format(base=sql.Literal(base), low=sql.Literal(low))


def changed_ranges(
    conn: psycopg.Connection, before: Snapshot, name: str, state: TableState
) -> list[dict[str, Any]]:
    """The stored key ranges of a preserved table whose rows of before changed or went away.

    First pass: every range's rows and digest now, by a key range scan each. A range that
    differs is read again counting only the rows the snapshot's transaction saw (xmin): when
    those match, the difference is rows inserted inside the range since, not a loss.
    """
    from psycopg import sql

    schema = registry.history_schema()
    hashed = _hash_sql(state.columns or ())
    where = _range_sql(state.key or (), state.key_types or ())

    def ranges(extra, numbers=None):
        query = sql.SQL(
            "SELECT c.chunk, c.low_key, c.high_key, c.row_count, c.digest, x.n, x.s "
            "FROM {reg}.preserved_chunks AS c CROSS JOIN LATERAL (SELECT count(*) AS n, "
            "coalesce(sum({h}), 0) AS s FROM {t} AS t WHERE {w}{extra}) AS x "
            "WHERE c.snapshot_id = %(id)s AND c.relation = %(name)s{only} ORDER BY c.chunk"
        ).format(
            reg=sql.Identifier(schema),
            h=hashed,
            t=sql.SQL(name),
            w=where,
            extra=extra,
            only=sql.SQL("" if numbers is None else " AND c.chunk = ANY (%(numbers)s)"),
        )
        params = {"id": before.id, "name": name, "seen": state.seen, "numbers": numbers}
        return conn.execute(query, params).fetchall()

    with _output_as(conn, state.output):
        differ = [r for r in ranges(sql.SQL("")) if (r[3], int(r[4])) != (r[5], int(r[6]))]
        if not differ:
            return []
        old = sql.SQL(" AND {}").format(_xmin_seen_sql(conn))
        changed = []
        for _, low, high, rows, stored, kept, now in ranges(old, [r[0] for r in differ]):
            if (rows, int(stored)) != (kept, int(now)):
                changed.append(
                    {"from": low, "to": high, "rows_before": rows, "changed": max(rows - kept, 1)}
                )
    return changed


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
