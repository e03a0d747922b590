"""``dbkit adopt``: read another tool's history table and find where dbkit takes over.

A database another tool migrated records what that tool applied: golang-migrate's and dbmate's
``schema_migrations``, goose's ``goose_db_version``, Flyway's ``flyway_schema_history``,
Diesel's ``__diesel_schema_migrations``, Sqitch's ``sqitch.changes``. :func:`read_history`
turns one of them into the source versions applied, in order, refusing a history that records
a failure (Flyway ``success = false``, golang-migrate ``dirty = true``). :func:`match` maps
them onto the imported project's revisions (their ``source_version`` literals) and refuses
versions the project lacks and gaps (a version applied while an earlier one is not). The
revision found is then baselined like ``dbkit baseline REV``, schema check included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbkit.errors import DbkitError, ExitCode, UsageError
from dbkit.plan.importers.base import natural_key

if TYPE_CHECKING:
    import psycopg

    from dbkit.plan.graph import Plan

#: tool -> its history table's default name
HISTORY_TABLES = {
    "golang-migrate": "schema_migrations",
    "dbmate": "schema_migrations",
    "goose": "goose_db_version",
    "flyway": "flyway_schema_history",
    "diesel": "__diesel_schema_migrations",
    "sqitch": "sqitch.changes",
}


class HistoryMismatch(UsageError):
    """The source tool's history cannot be matched to the project (exit 2); nothing written."""


@dataclass
class SourceHistory:
    tool: str
    table: str
    applied: list[str]  # source versions, in the order the tool applied them
    upto: str | None = None  # golang-migrate: every version up to this one is applied
    baseline: tuple[int, ...] | None = None  # Flyway: versions up to it count as applied
    notes: list[str] = field(default_factory=list)


def _regclass(conn: psycopg.Connection, table: str) -> str | None:
    row = conn.execute("SELECT to_regclass(%s)::text", (table,)).fetchone()
    return row[0] if row else None


def qualified(conn: psycopg.Connection, table: str) -> str:
    """``schema.table`` as the catalog snapshot keys it (``table`` must exist)."""
    return conn.execute(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s::regclass",
        (table,),
    ).fetchone()[0]


def _columns(conn: psycopg.Connection, table: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped",
            (table,),
        )
    }


def read_history(conn: psycopg.Connection, tool: str, table: str | None = None) -> SourceHistory:
    """The versions ``tool`` recorded as applied, from its history ``table`` (default name)."""
    wanted = table or HISTORY_TABLES[tool]
    found = _regclass(conn, wanted)
    if found is None:
        raise HistoryMismatch(
            f"no {tool} history in this database: table {wanted} does not exist",
            hint="pass --history-table if the tool was configured with another table name"
            if table is None
            else None,
        )
    history = SourceHistory(tool, found, [])
    columns = _columns(conn, found)
    if tool in ("golang-migrate", "dbmate"):
        if tool == "dbmate" and "dirty" in columns:
            raise HistoryMismatch(
                f"{found} has a dirty column: it is golang-migrate's history, not dbmate's",
                hint="this project was imported from dbmate; is it the right database?",
            )
        if tool == "golang-migrate" and "dirty" not in columns:
            raise HistoryMismatch(
                f"{found} has no dirty column: it is not golang-migrate's history (dbmate's?)"
            )
    reader = _READERS[tool]
    reader(conn, found, history)
    return history


def _golang_migrate(conn, table: str, history: SourceHistory) -> None:
    rows = conn.execute(f"SELECT version, dirty FROM {table}").fetchall()
    if len(rows) > 1:
        raise HistoryMismatch(f"{table} holds {len(rows)} rows; golang-migrate keeps one")
    if not rows:
        return
    version, dirty = rows[0]
    if dirty:
        raise HistoryMismatch(
            f"golang-migrate left version {version} dirty in {table}: that migration failed "
            "partway, so the schema is between two versions",
            hint="repair the database by hand, then `migrate force VERSION`, then adopt",
        )
    history.upto = str(version)


def _dbmate(conn, table: str, history: SourceHistory) -> None:
    history.applied = [str(r[0]) for r in conn.execute(f"SELECT version FROM {table}")]


def _goose(conn, table: str, history: SourceHistory) -> None:
    state: dict[int, bool] = {}
    for version, applied in conn.execute(f"SELECT version_id, is_applied FROM {table} ORDER BY id"):
        if version == 0:
            continue  # goose's own first row
        state.pop(version, None)
        state[version] = bool(applied)
    history.applied = [str(v) for v, applied in state.items() if applied]


def _flyway(conn, table: str, history: SourceHistory) -> None:
    applied: dict[tuple[int, ...], str] = {}
    baseline: tuple[int, ...] | None = None
    for rank, version, script, kind, success in conn.execute(
        f"SELECT installed_rank, version, script, type, success FROM {table} "
        "ORDER BY installed_rank"
    ):
        if not success:
            raise HistoryMismatch(
                f"{table} records a failed migration: rank {rank}, version {version} "
                f"({script}) has success = false",
                hint="run `flyway repair` after fixing the database, then adopt",
            )
        if kind == "SCHEMA":
            continue
        if version is None:
            history.notes.append(f"repeatable migration {script} in the history ignored")
            continue
        key = natural_key(version)
        if kind == "BASELINE":
            baseline = key
            continue
        if kind in ("UNDO_SQL", "UNDO_JDBC", "UNDO_SCRIPT", "DELETE"):
            applied.pop(key, None)
            continue
        applied[key] = version
    history.applied = list(applied.values())
    if baseline is not None:
        history.notes.append(
            f"Flyway was baselined at {'.'.join(map(str, baseline))}: versions up to it count "
            "as applied"
        )
        history.baseline = baseline


def _diesel(conn, table: str, history: SourceHistory) -> None:
    history.applied = [str(r[0]) for r in conn.execute(f"SELECT version FROM {table}")]


def _sqitch(conn, table: str, history: SourceHistory) -> None:
    projects = [r[0] for r in conn.execute(f"SELECT DISTINCT project FROM {table}")]
    if len(projects) > 1:
        raise HistoryMismatch(
            f"{table} holds changes of several Sqitch projects ({', '.join(sorted(projects))})"
        )
    history.applied = [
        r[0] for r in conn.execute(f"SELECT change FROM {table} ORDER BY committed_at, change_id")
    ]


_READERS = {
    "golang-migrate": _golang_migrate,
    "dbmate": _dbmate,
    "goose": _goose,
    "flyway": _flyway,
    "diesel": _diesel,
    "sqitch": _sqitch,
}


def _key(tool: str, version: str) -> Any:
    if tool in ("golang-migrate", "goose"):
        return int(version)
    if tool == "flyway":
        return natural_key(version)
    if tool == "sqitch":
        return version.split("@", 1)[0]
    return version


def match(plan: Plan, mapping: dict[str, tuple[str, str]], history: SourceHistory) -> int:
    """The plan position the history ends at (-1: nothing applied); refuse what does not fit."""
    tool = history.tool
    revisions = [m.revision for m in plan]
    keys = [_key(tool, mapping[r][1]) if r in mapping else None for r in revisions]
    if tool == "golang-migrate":
        if history.upto is None:
            return -1
        wanted = _key(tool, history.upto)
        if wanted not in keys:
            raise HistoryMismatch(
                f"{history.table} is at version {history.upto}, which the project lacks "
                f"(no revision has source_version = {history.upto!r})",
                hint="import the migrations this database was migrated with",
            )
        return keys.index(wanted)
    if tool == "sqitch":
        names = keys
        for index, change in enumerate(history.applied):
            if index >= len(names):
                raise HistoryMismatch(
                    f"{history.table} records change {change} beyond the project's last "
                    f"revision {revisions[-1] if revisions else '(none)'}"
                )
            if names[index] != change:
                raise HistoryMismatch(
                    f"{history.table} records change {change} as deployed number {index + 1}, "
                    f"where the project has {names[index]} (revision {revisions[index]}): "
                    "the histories diverge"
                )
        return len(history.applied) - 1

    baseline = history.baseline
    applied = {_key(tool, v): v for v in history.applied}
    unknown = [v for k, v in applied.items() if k not in keys]
    if unknown:
        raise HistoryMismatch(
            f"{history.table} records version(s) the project lacks: {', '.join(unknown[:5])}"
            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""),
            hint="import the migrations this database was migrated with",
        )
    positions = set()
    for index, key in enumerate(keys):
        if key in applied or (baseline is not None and key is not None and key <= baseline):
            positions.add(index)
    if not positions:
        return -1
    last = max(positions)
    missing = [i for i in range(last + 1) if i not in positions]
    if missing:
        gap = missing[0]
        raise HistoryMismatch(
            f"gap in {history.table}: version {mapping[revisions[last]][1]} is applied but "
            f"{mapping.get(revisions[gap], ('', '?'))[1]} (revision {revisions[gap]}), earlier "
            f"in {tool}'s order, is not",
            hint=f"apply the missing migration(s) with {tool} first, or baseline by hand with "
            "`dbkit baseline REV` after checking the schema",
        )
    return last


class SchemaMismatch(DbkitError):
    """The live schema is not what the migrations build at the revision to baseline (exit 4)."""

    exit_code = ExitCode.CHECKSUM_MISMATCH


def found_histories(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """``(tool, table)`` of every other tool's history table present (default names)."""
    found = []
    for tool, table in HISTORY_TABLES.items():
        name = _regclass(conn, table)
        if name is None:
            continue
        if tool in ("golang-migrate", "dbmate"):
            dirty = "dirty" in _columns(conn, name)
            if (tool == "golang-migrate") != dirty:
                continue
        found.append((tool, qualified(conn, name) if tool != "sqitch" else name))
    return found


def untracked_schema(conn: psycopg.Connection) -> str | None:
    """A notice when the database holds tables but no dbkit revision, else ``None``.

    Names the other tool's history table when one is there, and what to run.
    """
    row = conn.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN "
        "('pg_catalog', 'information_schema', 'dbkit') AND n.nspname !~ '^pg_' "
        "AND NOT (c.relname = 'alembic_version' AND n.nspname = coalesce(%s, current_schema()))",
        (getattr(conn, "version_schema", None),),
    ).fetchone()
    if not row or not row[0]:
        return None
    found = found_histories(conn)
    if found:
        tool, table = found[0]
        return (
            f"the database holds {row[0]} tables/views and {tool}'s history ({table}) but no "
            f"dbkit history: `dbkit import --from {tool} DIR`, then `dbkit adopt`, takes it over"
        )
    return (
        f"the database holds {row[0]} tables/views but no dbkit history: if its schema is "
        "what the plan builds up to a revision, `dbkit baseline REV` adopts it; "
        "`dbkit migrate` would run every migration from base"
    )
