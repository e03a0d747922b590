"""Stream generated rows into the database through COPY, parents before children.

The whole load is one transaction: every problem a generator can foresee (an unknown table or
column, a CHECK it cannot satisfy, a unique column too small) is found while compiling, before
the first row is sent; a row the server refuses rolls everything back, so a failed run leaves
nothing behind. Rows go out in COPY batches of :data:`BATCH` rows (one ``COPY`` statement
each, so the server's queue of foreign-key checks stays bounded), each batch written as text
blocks of :data:`~dbkit.synth.generate.CHUNK` rows that a thread (:class:`Ahead`) generates
ahead of the sender: memory stays flat whatever the row count. After the commit,
:func:`analyze` gathers the statistics of what was loaded.
"""

from __future__ import annotations

import contextlib
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dbkit.errors import SynthError, SynthUsageError
from dbkit.plan.literals import identifier
from dbkit.synth import catalog as synth_catalog
from dbkit.synth.generate import CHUNK, Compiler, KeySource, TablePlan
from dbkit.synth.profiles import Profiles

if TYPE_CHECKING:
    import psycopg

BATCH = 24 * CHUNK  # rows per COPY statement (98,304): whole blocks
AHEAD = 16  # blocks the generator thread may be ahead of the sender
SWITCH_INTERVAL = 0.0005  # sys.setswitchinterval while the generator thread runs (default 5 ms)
SAMPLE = 100_000  # keys read from a parent table this run does not generate
DEFAULT_SCALE = 100
_PICK = re.compile(r"""pick\(\s*['"]([\w.]+)['"]\s*\)""")


@dataclass
class TableLoad:
    table: str
    rows: int
    duration_ms: float = 0.0
    notes: list[str] = field(default_factory=list)
    bulk: bool = False
    analyze_ms: float = 0.0  # the ANALYZE after the commit (not in duration_ms; see analyze)
    relation: tuple[str, ...] = ()  # (schema, name), for that ANALYZE

    @property
    def rows_per_second(self) -> float:
        return self.rows / (self.duration_ms / 1000) if self.duration_ms else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows": self.rows,
            "duration_ms": round(self.duration_ms, 1),
            "rows_per_second": round(self.rows_per_second),
            "bulk": self.bulk,
            "analyze_ms": round(self.analyze_ms, 1),
            "notes": self.notes,
        }


class Progress:
    """What the loader reports as it goes (the CLI draws a progress bar from it)."""

    def start(self, total_rows: int, tables: list[tuple[str, int]]) -> None: ...

    def table(self, name: str, rows: int) -> None: ...

    def advance(self, rows: int) -> None: ...

    def done(self) -> None: ...


def parse_ttl(text: str) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``45s``, ``2w`` or combinations (``1d12h``); ``0`` is allowed."""
    value = text.strip().lower()
    if value in ("0", "0s"):
        return timedelta(0)
    parts = re.findall(r"(\d+)\s*([smhdw])", value)
    if not parts or re.sub(r"(\d+)\s*([smhdw])", "", value).strip():
        raise SynthUsageError(
            f"--ttl {text!r} is not a duration: use e.g. 7d, 12h, 30m, 45s or 1d12h"
        )
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return timedelta(seconds=sum(int(n) * unit[u] for n, u in parts))


def parse_rows(items: list[str] | tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        name, sep, count = item.partition("=")
        if not sep or not name.strip() or not count.strip().isdigit():
            raise SynthUsageError(f"--rows {item!r}: expected TABLE=N (for example users=1000)")
        out[name.strip()] = int(count)
    return out


def plan_rows(
    tables: dict[str, synth_catalog.Table],
    profiles: Profiles,
    scale: int | None,
    rows: dict[str, int],
) -> dict[str, int]:
    """How many rows each table gets: scale x the profile's weight, then --rows overrides."""
    for name in rows:
        if name not in tables:
            raise SynthUsageError(f"unknown table {name!r} in --rows", hint=_suggest(name, tables))
    if scale is not None and scale < 0:
        raise SynthUsageError(f"--scale must be 0 or more, not {scale}")
    if scale is None and not rows:
        scale = DEFAULT_SCALE
    counts: dict[str, int] = {}
    if scale is not None:
        for name in tables:
            profile = profiles.tables.get(name)
            weight = profile.rows if profile and profile.rows is not None else 1.0
            counts[name] = max(1, round(scale * weight)) if scale and weight else 0
    counts.update(rows)
    # per_parent tables follow their parent
    for name, profile in profiles.tables.items():
        if profile.per_parent and name not in rows and scale is not None:
            fk = next(
                (f for f in tables[name].foreign_keys if profile.per_parent.column in f.columns),
                None,
            )
            if fk is None:
                raise SynthUsageError(
                    f"profile {profile.origin}: tables.{name}.per_parent: "
                    f"{profile.per_parent.column} is not a foreign key of {name}"
                )
            parent_rows = counts.get(fk.ref_table, 0)
            wanted = profile.rows if profile.rows is not None else 1.0
            counts[name] = parent_rows * profile.per_parent.count if wanted else 0
    return {n: c for n, c in counts.items() if c > 0}


def _suggest(name: str, tables) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, list(tables), n=1)
    return f"did you mean {close[0]}?" if close else None


def order_tables(
    tables: dict[str, synth_catalog.Table], counts: dict[str, int], profiles: Profiles
) -> tuple[list[str], set[str]]:
    """Tables to load, parents first; foreign keys cut to break a cycle (filled with NULL)."""
    wanted = set(counts)
    deps: dict[str, dict[str, list]] = {n: {} for n in wanted}
    for name in wanted:
        for fk in tables[name].foreign_keys:
            if fk.ref_table in wanted and fk.ref_table != name:
                deps[name].setdefault(fk.ref_table, []).append(fk)
        profile = profiles.tables.get(name)
        if profile:
            for spec in profile.columns.values():
                for target in _PICK.findall(spec.expr):
                    if target in wanted and target != name:
                        deps[name].setdefault(target, [])
    order: list[str] = []
    cut: set[str] = set()
    remaining = set(wanted)
    while remaining:
        ready = sorted(n for n in remaining if not (set(deps[n]) & remaining))
        if not ready:
            cycle = _find_cycle(deps, remaining)
            for child, parent in zip(cycle, cycle[1:] + cycle[:1], strict=True):
                fks = deps[child].get(parent) or []
                if fks and all(
                    all(not tables[child].columns[c].not_null for c in fk.columns) for fk in fks
                ):
                    cut.update(fk.name for fk in fks)
                    del deps[child][parent]
                    break
            else:
                names = ", ".join(cycle)
                raise SynthError(
                    f"cannot order {names}: their foreign keys form a cycle of NOT NULL columns"
                )
            continue
        order.extend(ready)
        remaining.difference_update(ready)
    return order, cut


def _find_cycle(deps: dict[str, dict[str, list]], remaining: set[str]) -> list[str]:
    """One cycle among the remaining tables: [a, b, c] where a needs b, b needs c, c needs a."""
    node = sorted(remaining)[0]
    path: list[str] = []
    seen: dict[str, int] = {}
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = sorted(p for p in deps[node] if p in remaining)[0]
    return path[seen[node] :]


def run(
    conn: psycopg.Connection,
    tables: dict[str, synth_catalog.Table],
    profiles: Profiles,
    *,
    scale: int | None,
    rows: dict[str, int],
    seed: int,
    ttl: timedelta,
    progress: Progress | None = None,
    method: str = "copy",
    bulk: bool | None = None,
) -> list[TableLoad]:
    """Compile every table's generator, then load them all in one transaction.

    ``method="executemany"`` sends the same rows as parameterised INSERTs instead of COPY
    (benchmarks/bench_synth.py compares the two); the CLI always uses COPY. ``bulk``: None
    decides per table (:func:`dbkit.synth.bulk.wanted`), True drops and rebuilds secondary
    indexes and foreign keys for every table, False never.
    """
    for name in profiles.tables:
        if name not in tables:
            origin = profiles.tables[name].origin
            raise SynthUsageError(
                f"profile {origin}: unknown table {name!r}", hint=_suggest(name, tables)
            )
    counts = plan_rows(tables, profiles, scale, rows)
    order, cut = order_tables(tables, counts, profiles)
    expires = datetime.now(UTC) + ttl
    compiler = Compiler(seed, expires, profiles.constants)
    int_offsets = _int_offsets(conn, tables, order)
    keys: dict[str, KeySource] = {}
    plans: list[TablePlan] = []

    def compile_one(name: str) -> TablePlan:
        table = tables[name]
        for fk in table.foreign_keys:
            if fk.ref_table not in keys and fk.ref_table not in counts:
                keys[fk.ref_table] = _sample_keys(conn, fk)
        if any(fk.ref_table == name for fk in table.foreign_keys):
            own = _self_source(table, counts[name], seed)
            if own is not None:
                keys[name] = own
        plan = compiler.compile_table(
            table, counts[name], profiles.tables.get(name), keys, int_offsets, cut
        )
        key_fn = _key_for(plan, table)
        keys[name] = KeySource(
            name,
            counts[name],
            key_fn,
            None,
            plan.attrs_fn or _id_only(key_fn),
            plan.key_fns,
            deferred=key_fn is None,
            templates=plan.key_templates,
        )
        return plan

    # pass 1: compile every table, so a problem stops the run before any row is written
    for name in order:
        plans.append(compile_one(name))
    total = sum(p.rows for p in plans)
    if progress:
        progress.start(total, [(p.table.qualified, p.rows) for p in plans])
    loads: list[TableLoad] = []
    import psycopg
    import psycopg.errors

    # pass 2 (at load time): tables referencing a parent whose keys PostgreSQL generates
    # (decided now, before any parent is loaded and sampled)
    deferred = [
        [
            fk
            for fk in plan.table.foreign_keys
            if fk.ref_table in keys
            and keys[fk.ref_table].deferred
            and fk.ref_table != plan.table.qualified
        ]
        for plan in plans
    ]
    ahead = Ahead(plans, [not d for d in deferred]) if method == "copy" and AHEAD else None
    switch = sys.getswitchinterval()
    if ahead:
        # the sender needs the GIL back each time the socket takes more data; at Python's
        # 5 ms default the generator thread keeps it long enough for the server to run dry
        sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        with conn.transaction():
            for index, plan in enumerate(plans):
                if deferred[index]:
                    # the parents are loaded: sample their keys, compile this table again
                    for fk in deferred[index]:
                        keys[fk.ref_table] = _sample_keys(conn, fk)
                    plan = plans[index] = compile_one(plan.table.qualified)
                    if ahead:
                        ahead.ready(index)
                blocks = ahead.blocks(index) if ahead else None
                loads.append(_load(conn, plan, progress, method, bulk, blocks))
    except psycopg.Error as exc:
        current = plans[len(loads)].table.qualified if len(loads) < len(plans) else "?"
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        context = getattr(exc.diag, "context", None) or ""
        where = f" ({context.splitlines()[0]})" if context else ""
        hint = "check the profile's expression for that column"
        if isinstance(exc, psycopg.errors.UniqueViolation):
            hint = (
                f"keys depend on the seed: the table may already hold rows of seed {seed}; "
                "pass another --seed"
            )
        raise SynthError(
            f"the server refused a generated row of {current}: {message}{where}; nothing was "
            "written",
            hint=hint,
        ) from None
    finally:
        if ahead:
            ahead.close()
            sys.setswitchinterval(switch)
        if progress:
            progress.done()
    return loads


def _key_for(plan: TablePlan, table: synth_catalog.Table):
    """row number -> tuple of key texts, for the key children reference (the primary key)."""
    if table.primary_key and tuple(table.primary_key) in plan.key_fns:
        return plan.key_fns[tuple(table.primary_key)]
    return None


def _id_only(key_fn):
    if key_fn is None:
        return None
    from dbkit.synth.generate import Row

    def attrs(i):
        return Row({"id": key_fn(i)[0]})

    attrs.key_fn = key_fn  # pick(...).id takes the key straight from it
    return attrs


def _self_source(table, rows, seed) -> KeySource | None:
    """Keys of the table itself, known before it is generated (uuid or integer primary key)."""
    if len(table.primary_key) != 1:
        return None
    from dbkit.synth.generate import uuid_prefix

    pk = table.columns[table.primary_key[0]]
    if pk.base == "uuid":
        prefix = uuid_prefix(seed, table.qualified)
        return KeySource(table.qualified, rows, lambda i: (prefix + "%012x" % i,))
    return None


def _int_offsets(conn, tables, order) -> dict[str, int]:
    """For integer key columns: the first free value (max + 1), so new rows never collide."""
    from psycopg import sql

    out: dict[str, int] = {}
    for name in order:
        table = tables[name]
        keysets = ([table.primary_key] if table.primary_key else []) + table.unique_keys
        for key in keysets:
            for column in key:
                base = table.columns[column].base
                if base in ("int2", "int4", "int8"):
                    expr = "coalesce(max({}), 0) + 1"
                elif base == "date":
                    expr = "coalesce(max({}) - date '2000-01-01' + 1, 0)"
                elif base in ("timestamp", "timestamptz"):
                    expr = (
                        "coalesce(floor(extract(epoch FROM max({})::timestamp - "
                        "timestamp '2000-01-01'))::bigint + 1, 0)"
                    )
                else:
                    continue
                query = sql.SQL("SELECT " + expr + " FROM {}").format(
                    sql.Identifier(column), sql.Identifier(table.schema, table.name)
                )
                out[f"{name}.{column}"] = max(0, int(conn.execute(query).fetchone()[0]))
    return out


def _sample_keys(conn, fk) -> KeySource:
    """Existing keys of a parent this run does not fill (at most SAMPLE of them)."""
    from psycopg import sql

    schema, _, name = fk.ref_table.rpartition(".")
    ident = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    query = sql.SQL("SELECT {} FROM {} LIMIT {}").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in fk.ref_columns),
        ident,
        sql.Literal(SAMPLE),
    )
    sample = [tuple(r) for r in conn.execute(query).fetchall()]
    return KeySource(fk.ref_table, len(sample), None, sample)


def _generate(plan: TablePlan, start: int, stop: int) -> str:
    """Rows start..stop-1 as COPY text; a profile expression that fails names its table."""
    try:
        return plan.chunk(start, stop)
    except SynthError:
        raise
    except Exception as exc:  # a profile expression raised: the run stops, nothing written
        raise SynthError(
            f"generating row {start}..{stop - 1} of {plan.table.qualified} failed: "
            f"{type(exc).__name__}: {exc}; nothing was written",
            hint="check that table's expressions in the profile",
        ) from None


def _executemany(cursor, plan: TablePlan, start: int, stop: int, progress) -> None:
    """The same rows through ``executemany(INSERT ...)``: the benchmark's point of comparison."""
    from psycopg import sql

    table = plan.table
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table.schema, table.name),
        sql.SQL(", ").join(sql.Identifier(c) for c in plan.columns),
        sql.SQL(", ").join(sql.Placeholder() for _ in plan.columns),
    )
    pos = start
    while pos < stop:
        end = min(stop, pos + CHUNK)
        rows = [
            [None if v == "\\N" else v for v in line.split("\t")]
            for line in _generate(plan, pos, end).split("\n")
            if line
        ]
        cursor.executemany(statement, rows)
        if progress:
            progress.advance(end - pos)
        pos = end


def _blocks(plan: TablePlan) -> Iterator[tuple[int, str]]:
    """(rows, COPY text) of each CHUNK-aligned block of ``plan``'s rows, in order."""
    pos = 0
    while pos < plan.rows:
        end = min(plan.rows, pos + CHUNK)
        yield end - pos, _generate(plan, pos, end)
        pos = end


class Ahead:
    """A thread that generates the COPY text of every table in load order, ahead of the sender.

    The main thread sends; this one generates the next blocks meanwhile, also while the server
    works alone (the end of a COPY statement, a bulk table's index builds and foreign-key
    validation, the next table's drops), which the main thread, waiting on the server, leaves
    idle. At most :data:`AHEAD` blocks wait in the queue (about 1 MB of text each). A table whose
    plan is compiled again once its parents are loaded (pass 2 of :func:`run`) is generated only
    after :meth:`ready` says its plan is final. Generation is the same code on the same blocks
    as without the thread: the same rows.
    """

    def __init__(self, plans: list[TablePlan], final: list[bool]) -> None:
        self._plans = plans
        self._ready = [threading.Event() for _ in plans]
        for index, done in enumerate(final):
            if done:
                self._ready[index].set()
        self._queue: queue.Queue = queue.Queue(maxsize=AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dbkit-synth-ahead", daemon=True)
        self._thread.start()

    def ready(self, index: int) -> None:
        """``plans[index]`` is final: its rows may be generated."""
        self._ready[index].set()

    def blocks(self, index: int) -> Iterator[tuple[int, str]]:
        """The blocks of ``plans[index]``, in order (the tables must be taken in order)."""
        left = self._plans[index].rows
        while left > 0:
            item = self._get()
            if isinstance(item, BaseException):
                raise item
            got, rows, text = item
            if got != index:  # pragma: no cover - a bug in this module, not user input
                raise SynthError(f"internal error: rows of table {got} sent as table {index}")
            left -= rows
            yield rows, text

    def close(self) -> None:
        """Stop the thread (at its next block) and wait for it."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _get(self):
        while True:
            try:
                return self._queue.get(timeout=0.5)
            except queue.Empty:
                if not self._thread.is_alive():  # pragma: no cover - it always says why
                    raise SynthError("internal error: the generator thread stopped") from None

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for index in range(len(self._plans)):
                while not self._ready[index].wait(0.1):
                    if self._stop.is_set():
                        return
                for rows, text in _blocks(self._plans[index]):
                    if not self._put((index, rows, text)):
                        return
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, raised there
            self._put(exc)


def _load(
    conn,
    plan: TablePlan,
    progress: Progress | None,
    method: str = "copy",
    bulk=None,
    blocks: Iterator[tuple[int, str]] | None = None,
) -> TableLoad:
    """Load one table (``blocks``: its COPY text, from :class:`Ahead`; else generated here)."""
    from psycopg import sql

    from dbkit.synth import bulk as bulk_mode

    table = plan.table
    t0 = time.perf_counter()
    if progress:
        progress.table(table.qualified, plan.rows)
    dropped = None
    if bulk_mode.wanted(conn, _qualified(table), plan.rows, bulk):
        dropped = bulk_mode.drop(conn, _qualified(table))
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.schema, table.name),
        sql.SQL(", ").join(sql.Identifier(c) for c in plan.columns),
    )
    if blocks is None and method != "executemany":
        blocks = _blocks(plan)
    with conn.cursor() as cursor:
        start = 0
        while start < plan.rows:
            stop = min(plan.rows, start + BATCH)
            if method == "executemany":
                _executemany(cursor, plan, start, stop, progress)
                start = stop
                continue
            # this thread sends (psycopg's plain writer: an interrupt while it waits on the
            # server cancels the COPY cleanly) while Ahead's generates; BATCH is whole blocks
            with cursor.copy(statement) as copy:
                pos = start
                while pos < stop:
                    rows, text = next(blocks)
                    copy.write(text)
                    if progress:
                        progress.advance(rows)
                    pos += rows
            start = stop
        if dropped is not None:
            bulk_mode.restore(conn, dropped)
        for column in plan.sequences:
            cursor.execute(
                "SELECT setval(s, greatest((SELECT max("
                + identifier(column)
                + ") FROM "
                + _qualified(table)
                + "), 1)) FROM pg_get_serial_sequence(%s, %s) AS s "
                "WHERE s IS NOT NULL",
                (_qualified(table), column),
            )
    notes = plan.notes + ([dropped.note()] if dropped is not None else [])
    return TableLoad(
        table.qualified,
        plan.rows,
        (time.perf_counter() - t0) * 1000,
        notes,
        dropped is not None,
        relation=(table.schema, table.name),
    )


def analyze(conns: list[psycopg.Connection], loads: list[TableLoad]) -> None:
    """``ANALYZE`` each loaded table, after the load's commit, over the connections given.

    After the commit, not inside the load: an ``ANALYZE`` in the loading transaction is done
    again by autovacuum once it commits (the rows inserted count as changes since that
    analyze), and it can use only the loading session. Here each connection (autocommit,
    one per core) takes the next table, largest first; ``analyze_ms`` is each table's own time.
    A table whose lock is not available within the session's ``lock_timeout`` is left to
    autovacuum and noted; any other error, or an interrupt, stops every session and is raised.
    """
    import psycopg.errors
    from psycopg import sql

    pending = sorted(loads, key=lambda t: -t.rows)
    lock = threading.Lock()
    failed: list[BaseException] = []

    def work(conn) -> None:
        while True:
            with lock:
                if not pending or failed:
                    return
                load = pending.pop(0)
            t0 = time.perf_counter()
            try:
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(*load.relation)))
            except psycopg.errors.LockNotAvailable:
                load.notes.append("not analyzed (its lock was not available): autovacuum will")
            except Exception as exc:  # noqa: BLE001 - raised in the main thread below
                with lock:
                    failed.append(exc)
                return
            load.analyze_ms = (time.perf_counter() - t0) * 1000

    helpers = [threading.Thread(target=work, args=(c,), daemon=True) for c in conns[1:]]
    for thread in helpers:
        thread.start()
    try:
        work(conns[0])
    except BaseException:
        with lock:
            pending.clear()
        for conn in conns[1:]:
            with contextlib.suppress(Exception):
                conn.cancel_safe(timeout=2.0)
        raise
    finally:
        for thread in helpers:
            thread.join()
    if failed:
        raise failed[0]


def _qualified(table) -> str:
    return identifier(table.schema) + "." + identifier(table.name)


# -- cleanup ------------------------------------------------------------------------------------


@dataclass
class CleanupResult:
    removed: int
    by_table: dict[str, int]


def cleanup(conn: psycopg.Connection, tables: dict[str, synth_catalog.Table]) -> CleanupResult:
    """Run seed 001's ``cleanup_expired_synthetic_data()`` and count what it removed per table."""
    exists = conn.execute(
        "SELECT to_regprocedure('cleanup_expired_synthetic_data()') IS NOT NULL"
    ).fetchone()[0]
    if not exists:
        raise SynthError(
            "this database has no cleanup_expired_synthetic_data() function (seed 001's "
            "synthetic-data cleanup); migrate to the revision that creates it"
        )
    synthetic = [
        t for t in tables.values() if "is_synthetic" in t.columns and "expires_at" in t.columns
    ]
    counts = (
        "SELECT "
        + ", ".join(f"(SELECT count(*) FROM {_qualified(t)} WHERE is_synthetic)" for t in synthetic)
        if synthetic
        else None
    )
    with conn.transaction():
        before = conn.execute(counts).fetchone() if counts else ()
        removed = int(conn.execute("SELECT cleanup_expired_synthetic_data()").fetchone()[0] or 0)
        after = conn.execute(counts).fetchone() if counts else ()
    by_table = {
        t.qualified: int(b) - int(a) for t, b, a in zip(synthetic, before, after, strict=True)
    }
    return CleanupResult(removed, {k: v for k, v in by_table.items() if v})


Reporter = Callable[[str], None]
