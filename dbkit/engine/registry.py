"""The state dbkit keeps in the target database.

* ``alembic_version``: Alembic's own one-row table holding the current revision, kept in step
  inside each migration's transaction so Alembic and dbkit always agree.
* ``dbkit.history``: one row per run of a migration (up, down, baseline, repair), successful
  or failed, never rewritten. The latest successful non-down row of a revision holds the
  checksum its files had when it was applied.

The SQL text lives here once and serves both the live runner and ``dbkit sql``.

Schema-per-tenant (``dbkit fleet``): inside :func:`scoped` with a tenant schema, the
connection's ``search_path`` is that schema (set by :func:`dbkit.engine.database.connect`), so
``alembic_version`` is the tenant's own, and the history tables live in ``dbkit_<schema>``
(:func:`history_schema`) instead of ``dbkit``. Outside it nothing changes.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbkit import __version__
from dbkit.errors import DatabaseStateError, DbkitError

if TYPE_CHECKING:
    import psycopg

    from dbkit.plan.graph import Migration, Plan

VERSION_TABLE = "alembic_version"
#: How the history row of a run that applied a migration although one of its checks failed
#: (``--no-auto-rollback``) starts its message: one row per run, ``success`` (the migration is
#: applied), and ``status`` names it until it is rolled back.
LEFT_APPLIED = "LEFT APPLIED after failing its checks"

#: The registry's shape version: 1 history only, 2 + the level column and phase snapshots,
#: 3 + preserved rows, 4 + ``dbkit.registry`` (this number), outcome ``interrupted`` and a
#: comment on every column, 5 + ``dbkit.in_progress`` (non-transactional runs started and not
#: finished). An older registry is upgraded by the scripts in
#: ``registry_upgrades/`` (``NNNN_name.sql`` upgrades to version NNNN), applied in order in one
#: transaction by the first writing command, under the migration lock.
REGISTRY_VERSION = 5

_TABLES_DDL = """\
CREATE SCHEMA IF NOT EXISTS dbkit;
CREATE TABLE IF NOT EXISTS dbkit.history (
    id bigint GENERATED ALWAYS AS IDENTITY,
    revision text NOT NULL,
    phase text NOT NULL,
    direction text NOT NULL,
    level text NOT NULL DEFAULT 'schema',
    checksum text NOT NULL,
    outcome text NOT NULL,
    applied_by text NOT NULL DEFAULT current_user,
    os_user text,
    client_host text,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    duration_ms numeric(14, 3) NOT NULL DEFAULT 0,
    dbkit_version text NOT NULL,
    message text,
    CONSTRAINT pk_history PRIMARY KEY (id),
    CONSTRAINT ck_history_direction
        CHECK (direction IN ('up', 'down', 'baseline', 'repair')),
    CONSTRAINT ck_history_outcome CHECK (outcome IN ('success', 'failed', 'interrupted')),
    CONSTRAINT ck_history_level CHECK (level IN ('schema', 'data', 'feature'))
);
CREATE INDEX IF NOT EXISTS ix_history_revision ON dbkit.history (revision, id);
CREATE TABLE IF NOT EXISTS dbkit.phase_snapshots (
    id bigint GENERATED ALWAYS AS IDENTITY,
    phase text NOT NULL,
    revision_before text,
    taken_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    tables jsonb NOT NULL,
    CONSTRAINT pk_phase_snapshots PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_phase_snapshots_phase ON dbkit.phase_snapshots (phase, id);
CREATE TABLE IF NOT EXISTS dbkit.preserved_rows (
    snapshot_id bigint NOT NULL,
    relation text NOT NULL,
    row_hash text NOT NULL,
    CONSTRAINT fk_preserved_rows_snapshot FOREIGN KEY (snapshot_id)
        REFERENCES dbkit.phase_snapshots (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_preserved_rows_snapshot
    ON dbkit.preserved_rows (snapshot_id, relation);
CREATE TABLE IF NOT EXISTS dbkit.registry (
    version integer NOT NULL,
    upgraded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    dbkit_version text NOT NULL,
    CONSTRAINT pk_registry PRIMARY KEY (version)
);CREATE TABLE IF NOT EXISTS dbkit.in_progress (
    revision text NOT NULL,
    phase text NOT NULL,
    direction text NOT NULL,
    statements_total integer NOT NULL,
    statements_done integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_by text NOT NULL DEFAULT current_user,
    CONSTRAINT pk_in_progress PRIMARY KEY (revision, direction)
);
"""

#: Comments on the registry's schema, tables and every column; applied after a fresh install
#: and after every upgrade, so both end with the same text.
_COMMENTS = """\
COMMENT ON SCHEMA dbkit IS 'dbkit migration registry: history of every migration run';
COMMENT ON TABLE dbkit.history IS 'One row per run of a migration; never updated or deleted';
COMMENT ON COLUMN dbkit.history.id IS 'Order of the runs (identity)';
COMMENT ON COLUMN dbkit.history.revision IS 'Revision id (migrations/versions/<revision>_*.py)';
COMMENT ON COLUMN dbkit.history.phase IS 'Phase the migration belongs to';
COMMENT ON COLUMN dbkit.history.direction IS
    'up (applied), down (rolled back), baseline (adopted, no SQL run), repair (checksum accepted)';
COMMENT ON COLUMN dbkit.history.level IS
    'Rollback level: schema (paired rollback), data (.data.sql), feature (.feature.sql)';
COMMENT ON COLUMN dbkit.history.checksum IS 'SHA-256 of the SQL pair when the row was written';
COMMENT ON COLUMN dbkit.history.outcome IS
    'success; failed (the migration left no trace); interrupted (SIGINT/SIGTERM, undone)';
COMMENT ON COLUMN dbkit.history.applied_by IS 'Database role that ran it';
COMMENT ON COLUMN dbkit.history.os_user IS 'Operating-system user that ran dbkit';
COMMENT ON COLUMN dbkit.history.client_host IS 'Host name dbkit ran on';
COMMENT ON COLUMN dbkit.history.started_at IS 'When the run of this migration started';
COMMENT ON COLUMN dbkit.history.duration_ms IS 'Time spent running its SQL, in milliseconds';
COMMENT ON COLUMN dbkit.history.dbkit_version IS 'dbkit version that wrote the row';
COMMENT ON COLUMN dbkit.history.message IS 'Error or note (failed runs, repairs, baselines)';
COMMENT ON TABLE dbkit.phase_snapshots IS
    'Row counts (and checksums of preserved tables) taken before a phase ran';
COMMENT ON COLUMN dbkit.phase_snapshots.id IS 'Snapshot id (identity)';
COMMENT ON COLUMN dbkit.phase_snapshots.phase IS 'Phase the snapshot was taken before';
COMMENT ON COLUMN dbkit.phase_snapshots.revision_before IS 'Revision the database was at';
COMMENT ON COLUMN dbkit.phase_snapshots.taken_at IS 'When the snapshot was taken';
COMMENT ON COLUMN dbkit.phase_snapshots.tables IS
    '{"schema.table": {"rows": n, "columns": [...], "checksum": "..."}}';
COMMENT ON TABLE dbkit.preserved_rows IS
    'Row hashes of the tables a phase declared preserved, taken before the phase';
COMMENT ON COLUMN dbkit.preserved_rows.snapshot_id IS 'The phase snapshot the hash belongs to';
COMMENT ON COLUMN dbkit.preserved_rows.relation IS 'schema.table the row was read from';
COMMENT ON COLUMN dbkit.preserved_rows.row_hash IS 'md5 of the whole row as text';
COMMENT ON TABLE dbkit.registry IS
    'Versions of this registry''s shape, one row per upgrade; dbkit refuses a newer one';
COMMENT ON COLUMN dbkit.registry.version IS 'Registry shape version (dbkit REGISTRY_VERSION)';
COMMENT ON COLUMN dbkit.registry.upgraded_at IS 'When the registry reached this version';
COMMENT ON COLUMN dbkit.registry.dbkit_version IS 'dbkit version that created or upgraded it';
COMMENT ON TABLE dbkit.in_progress IS
    'Non-transactional migrations started and not finished (a row survives a crash or kill)';
COMMENT ON COLUMN dbkit.in_progress.revision IS 'Revision whose statements are running';
COMMENT ON COLUMN dbkit.in_progress.phase IS 'Phase the migration belongs to';
COMMENT ON COLUMN dbkit.in_progress.direction IS 'up (applying) or down (rolling back)';
COMMENT ON COLUMN dbkit.in_progress.statements_total IS 'Statements in its file';
COMMENT ON COLUMN dbkit.in_progress.statements_done IS 'Statements that had completed';
COMMENT ON COLUMN dbkit.in_progress.started_at IS 'When the run started';
COMMENT ON COLUMN dbkit.in_progress.applied_by IS 'Database role that ran it';
"""

_VERSION_TABLE_DDL = """\
CREATE TABLE IF NOT EXISTS alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
"""


def _version_row() -> str:
    from dbkit.plan.literals import literal

    return (
        f"INSERT INTO dbkit.registry (version, dbkit_version) VALUES ({REGISTRY_VERSION}, "
        f"{literal(__version__)}) ON CONFLICT (version) DO NOTHING;\n"
    )


_UPGRADES_DIR = Path(__file__).with_name("registry_upgrades")


def _all_upgrades() -> str:
    return "".join(
        path.read_text(encoding="utf-8")
        for path in sorted(_UPGRADES_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    )


#: The whole registry at the current version, idempotent, whatever version was there before:
#: the current tables where none exist, then every upgrade script (each idempotent: on a new
#: registry they change nothing), the comments and the version row. ``ensure_registry`` runs
#: it, and ``dbkit sql`` renders it, so a psql script upgrades an old registry too.
REGISTRY_DDL = _TABLES_DDL + _all_upgrades() + _COMMENTS + _version_row() + _VERSION_TABLE_DDL


def upgrade_scripts(found: int) -> list[tuple[int, str]]:
    """``(version, sql)`` of every upgrade from version ``found`` to :data:`REGISTRY_VERSION`."""
    scripts = []
    for path in sorted(_UPGRADES_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        version = int(path.name[:4])
        if found < version <= REGISTRY_VERSION:
            scripts.append((version, path.read_text(encoding="utf-8")))
    return scripts


_HISTORY_COLUMNS = (
    "revision",
    "phase",
    "direction",
    "level",
    "checksum",
    "outcome",
    "os_user",
    "client_host",
    "started_at",
    "duration_ms",
    "dbkit_version",
    "message",
)
_HISTORY_INTO = f"INSERT INTO dbkit.history ({', '.join(_HISTORY_COLUMNS)})"
_HISTORY_VALUES = ", ".join(f"%({c})s" for c in _HISTORY_COLUMNS)

INSERT_HISTORY = f"{_HISTORY_INTO}\nVALUES ({_HISTORY_VALUES})"

# The tenant schema of the run in this thread (None: a whole-database run).
_TENANT: ContextVar[str | None] = ContextVar("dbkit_tenant_schema", default=None)


@contextmanager
def scoped(schema: str | None) -> Iterator[None]:
    """Run the registry statements of this thread against ``schema``'s registry."""
    token = _TENANT.set(schema)
    try:
        yield
    finally:
        _TENANT.reset(token)


def tenant_schema() -> str | None:
    return _TENANT.get()


def history_schema() -> str:
    """``dbkit``, or ``dbkit_<schema>`` inside :func:`scoped` with a tenant schema."""
    schema = _TENANT.get()
    return "dbkit" if schema is None else f"dbkit_{schema}"


def in_scope(sql: str) -> str:
    """``sql`` (written against ``dbkit.`` and ``alembic_version``) aimed at the registry of
    the current scope: ``dbkit_<schema>.`` and ``<schema>.alembic_version`` (qualified, so a
    shared schema later on the search_path can never stand in for a tenant's own table)."""
    schema = _TENANT.get()
    if schema is None:
        return sql
    sql = re.sub(r"\bdbkit\.(?=[a-z_])", f"dbkit_{schema}.", sql)
    return re.sub(rf"(?<![.\w]){VERSION_TABLE}\b", f"{schema}.{VERSION_TABLE}", sql)


def registry_ddl() -> str:
    """REGISTRY_DDL for the current scope (a tenant's schema is created with its registry)."""
    schema = _TENANT.get()
    if schema is None:
        return REGISTRY_DDL
    ddl = (
        in_scope(REGISTRY_DDL)
        .replace("SCHEMA IF NOT EXISTS dbkit;", f"SCHEMA IF NOT EXISTS dbkit_{schema};")
        .replace("COMMENT ON SCHEMA dbkit IS", f"COMMENT ON SCHEMA dbkit_{schema} IS")
    )
    return f"CREATE SCHEMA IF NOT EXISTS {schema};\n{ddl}"


def version_statement(from_revision: str | None, to_revision: str | None) -> tuple[str, tuple]:
    """The statement moving ``alembic_version`` from one revision to the next."""
    if from_revision is None:
        return in_scope(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (%s)"), (to_revision,)
    if to_revision is None:
        return in_scope(f"DELETE FROM {VERSION_TABLE} WHERE version_num = %s"), (from_revision,)
    return (
        in_scope(f"UPDATE {VERSION_TABLE} SET version_num = %s WHERE version_num = %s"),
        (to_revision, from_revision),
    )


def migration_params(
    migration: Migration,
    *,
    direction: str,
    outcome: str = "success",
    started_at: datetime | None = None,
    duration_ms: float = 0.0,
    message: str | None = None,
    level: str = "schema",
) -> dict[str, Any]:
    """:func:`history_params` for a run of ``migration``.

    A successful ``up`` of a migration that declares ``removes_data`` says so in its message,
    so the history shows which data went on purpose."""
    if migration.removes_data and direction == "up" and outcome == "success":
        declared = f"declared data removal: {', '.join(migration.removes_data)}"
        message = f"{message}; {declared}" if message else declared
    return history_params(
        revision=migration.revision,
        phase=migration.phase,
        direction=direction,
        checksum=migration.checksum,
        outcome=outcome,
        started_at=started_at,
        duration_ms=duration_ms,
        message=message,
        level=level,
    )


def _move_and_record_sql(from_revision: str | None, to_revision: str | None) -> str:
    if from_revision is None:
        moved = f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (%(to_revision)s)"
    elif to_revision is None:
        moved = f"DELETE FROM {VERSION_TABLE} WHERE version_num = %(from_revision)s"
    else:
        moved = (
            f"UPDATE {VERSION_TABLE} SET version_num = %(to_revision)s "
            "WHERE version_num = %(from_revision)s"
        )
    # The revision comes through the moved row: if alembic_version was not where it should be,
    # nothing moves, revision is NULL and the NOT NULL constraint stops the whole transaction
    # (see version_guard_tripped). So the statement can travel with COMMIT in one round trip.
    values = _HISTORY_VALUES.replace("%(revision)s", "(SELECT %(revision)s::text FROM moved)", 1)
    return in_scope(f"WITH moved AS ({moved} RETURNING 1) {_HISTORY_INTO} VALUES ({values})")


def version_guard_tripped(exc: Exception) -> bool:
    """True when :func:`move_and_record` failed because alembic_version was elsewhere."""
    diag = getattr(exc, "diag", None)
    return (
        getattr(exc, "sqlstate", None) == "23502"
        and diag is not None
        and diag.table_name == "history"
        and diag.column_name == "revision"
    )


def move_and_record(
    conn: psycopg.Connection,
    migration: Migration,
    *,
    from_revision: str | None,
    to_revision: str | None,
    direction: str,
    started_at: datetime | None,
    duration_ms: float,
    message: str | None = None,
) -> psycopg.Cursor:
    """Move ``alembic_version`` and append the history row in one statement.

    If the version row was not at ``from_revision`` the statement fails (NOT NULL on
    ``history.revision``): someone else changed ``alembic_version`` during the run.
    """
    params = migration_params(
        migration,
        direction=direction,
        started_at=started_at,
        duration_ms=duration_ms,
        message=message,
    )
    params.update(from_revision=from_revision, to_revision=to_revision)
    return conn.execute(_move_and_record_sql(from_revision, to_revision), params)


@cache
def client_identity() -> dict[str, str | None]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = os.environ.get("USER")
    return {"os_user": user, "client_host": socket.gethostname()}


def history_params(
    *,
    revision: str,
    phase: str,
    direction: str,
    checksum: str,
    outcome: str,
    started_at: datetime | None,
    duration_ms: float,
    message: str | None = None,
    level: str = "schema",
) -> dict[str, Any]:
    return {
        "revision": revision,
        "phase": phase,
        "direction": direction,
        "level": level,
        "checksum": checksum,
        "outcome": outcome,
        "started_at": started_at or datetime.now(UTC),
        "duration_ms": round(duration_ms, 3),
        "dbkit_version": __version__,
        "message": message,
        **client_identity(),
    }


def record(
    conn: psycopg.Connection,
    migration: Migration,
    *,
    direction: str,
    outcome: str = "success",
    started_at: datetime | None = None,
    duration_ms: float = 0.0,
    message: str | None = None,
    level: str = "schema",
) -> None:
    """Append one history row for a run of ``migration``."""
    conn.execute(
        in_scope(INSERT_HISTORY),
        migration_params(
            migration,
            direction=direction,
            outcome=outcome,
            started_at=started_at,
            duration_ms=duration_ms,
            message=message,
            level=level,
        ),
    )


@dataclass(frozen=True)
class HistoryRow:
    id: int
    revision: str
    phase: str
    direction: str
    level: str
    checksum: str
    outcome: str
    applied_by: str
    os_user: str | None
    client_host: str | None
    started_at: datetime
    duration_ms: float
    dbkit_version: str
    message: str | None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["started_at"] = self.started_at.isoformat()
        data["duration_ms"] = float(self.duration_ms)
        return data


@dataclass(frozen=True)
class DatabaseState:
    """What the database says about migrations, read without writing anything."""

    current: str | None
    recorded_checksums: dict[str, str]
    registry_version: int | None = None  # None: no registry yet
    registry_note: str | None = None  # an older registry: what the next write does to it
    # revision -> message of its run, for migrations whose last run applied them although a
    # check failed (--no-auto-rollback), until they are rolled back or run again
    left_applied: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistryShape:
    """What the database holds of dbkit's registry, read in one query."""

    version: int | None  # None: no registry at all
    has_version_table: bool  # alembic_version

    @property
    def has_history(self) -> bool:
        return self.version is not None

    @property
    def outdated(self) -> bool:
        return self.version is not None and self.version < REGISTRY_VERSION

    def note(self) -> str | None:
        """What a read-only command says about an older registry (None when current)."""
        if not self.outdated:
            return None
        return (
            f"the dbkit registry here is version {self.version}; the next writing command "
            f"(dbkit migrate, rollback, baseline, repair) upgrades it to version "
            f"{REGISTRY_VERSION}, keeping every history row"
        )


def registry_shape(conn: psycopg.Connection) -> RegistryShape:
    """The registry's version: from ``dbkit.registry`` (version 4 on), else from its shape
    (3: preserved_rows exists, 2: history has a level column, 1: history only).

    A registry newer than this dbkit knows is refused: its shape may mean other things.
    """
    row = conn.execute(
        in_scope(
            "SELECT to_regclass('dbkit.registry') IS NOT NULL, "
            "to_regclass('dbkit.history') IS NOT NULL, "
            "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('dbkit.history') "
            "AND attname = 'level' AND NOT attisdropped), "
            "to_regclass('dbkit.preserved_rows') IS NOT NULL, "
            f"to_regclass('{VERSION_TABLE}') IS NOT NULL"
        )
    ).fetchone()
    has_registry, has_history, has_level, has_preserved, has_version_table = map(bool, row)
    version: int | None
    if has_registry:
        found = conn.execute(in_scope("SELECT max(version) FROM dbkit.registry")).fetchone()[0]
        version = int(found) if found is not None else 3
    elif has_history:
        version = 3 if has_preserved else 2 if has_level else 1
    else:
        version = None
    if version is not None and version > REGISTRY_VERSION:
        raise DatabaseStateError(
            f"the dbkit registry in this database is version {version}, newer than this dbkit "
            f"({__version__}) understands (version {REGISTRY_VERSION}); a newer dbkit wrote it",
            hint="upgrade dbkit (pip install -U dbkit) to work on this database",
        )
    return RegistryShape(version=version, has_version_table=has_version_table)


def registry_exists(conn: psycopg.Connection) -> tuple[bool, bool]:
    """Whether dbkit's history and ``alembic_version`` exist."""
    shape = registry_shape(conn)
    return shape.has_history, shape.has_version_table


def ensure_registry(conn: psycopg.Connection) -> list[int]:
    """Create the registry, or upgrade an older one to :data:`REGISTRY_VERSION`, in one
    transaction; returns the versions upgraded to (empty when nothing was to do).

    Writing commands call it while holding the migration lock, so two runs never upgrade at
    once; the history rows are kept as they are (new columns take their defaults).
    """
    shape = registry_shape(conn)
    if shape.version == REGISTRY_VERSION and shape.has_version_table:
        return []
    if shape.version is None:
        with conn.transaction():
            conn.execute(registry_ddl())
        return []
    scripts = upgrade_scripts(shape.version)
    with conn.transaction():
        conn.execute(registry_ddl())  # the upgrade scripts in order, then comments and version
    return [version for version, _ in scripts]


def _has_in_progress(conn: psycopg.Connection) -> bool:
    found = conn.execute(in_scope("SELECT to_regclass('dbkit.in_progress') IS NOT NULL"))
    return bool(found.fetchone()[0])


@dataclass(frozen=True)
class StartedRun:
    """A non-transactional migration that started and did not finish (crash, kill, restart)."""

    revision: str
    direction: str
    statements_total: int
    statements_done: int
    started_at: datetime
    applied_by: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "started_at": self.started_at.isoformat()}


def start_run(conn: psycopg.Connection, migration: Migration, direction: str, total: int) -> None:
    """Record, before its first statement, that a non-transactional migration starts."""
    conn.execute(
        in_scope(
            "INSERT INTO dbkit.in_progress (revision, phase, direction, statements_total) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (revision, direction) DO UPDATE SET "
            "statements_total = EXCLUDED.statements_total, statements_done = 0, "
            "started_at = clock_timestamp(), applied_by = current_user"
        ),
        (migration.revision, migration.phase, direction, total),
    )


def progress(conn: psycopg.Connection, migration: Migration, direction: str, done: int) -> None:
    conn.execute(
        in_scope(
            "UPDATE dbkit.in_progress SET statements_done = %s "
            "WHERE revision = %s AND direction = %s"
        ),
        (done, migration.revision, direction),
    )


def finish_run(conn: psycopg.Connection, revision: str, direction: str) -> None:
    conn.execute(
        in_scope("DELETE FROM dbkit.in_progress WHERE revision = %s AND direction = %s"),
        (revision, direction),
    )


def read_in_progress(conn: psycopg.Connection) -> list[StartedRun]:
    """Runs recorded as started and not finished (none on a registry without the table)."""
    if not _has_in_progress(conn):
        return []
    rows = conn.execute(
        in_scope(
            "SELECT revision, direction, statements_total, statements_done, started_at, "
            "applied_by FROM dbkit.in_progress ORDER BY started_at"
        )
    ).fetchall()
    return [StartedRun(*row) for row in rows]


def read_state(conn: psycopg.Connection) -> DatabaseState:
    shape = registry_shape(conn)
    current = None
    if shape.has_version_table:
        rows = [r[0] for r in conn.execute(in_scope(f"SELECT version_num FROM {VERSION_TABLE}"))]
        if len(rows) > 1:
            raise DatabaseStateError(
                f"{VERSION_TABLE} holds several revisions ({', '.join(sorted(rows))})",
                hint="dbkit keeps a single linear chain; resolve the branches with Alembic first",
            )
        current = rows[0] if rows else None
    recorded: dict[str, str] = {}
    left: dict[str, str] = {}
    if shape.has_history:
        level = "" if shape.version == 1 else " AND level = 'schema'"  # no level column in 1
        for revision, checksum, direction, message in conn.execute(
            in_scope(
                "SELECT DISTINCT ON (revision) revision, checksum, direction, message "
                "FROM dbkit.history "
                f"WHERE outcome = 'success' AND direction <> 'down'{level} "
                "ORDER BY revision, id DESC"
            )
        ):
            recorded[revision] = checksum
            if direction == "up" and (message or "").startswith(LEFT_APPLIED):
                left[revision] = message
    return DatabaseState(
        current=current,
        recorded_checksums=recorded,
        registry_version=shape.version,
        registry_note=shape.note(),
        left_applied=left,
    )


def position_in(plan: Plan, state: DatabaseState) -> int:
    """Where the database's recorded revision sits in the plan (-1 for base)."""
    if state.current is None:
        return -1
    try:
        return plan.position(state.current)
    except DbkitError:
        raise DatabaseStateError(
            f"the database is at revision {state.current}, which is not in "
            f"{plan.project_dir / 'migrations' / 'versions'}",
            hint="is this the right project and database?",
        ) from None


def read_history(conn: psycopg.Connection, limit: int | None = None) -> list[HistoryRow]:
    shape = registry_shape(conn)
    if not shape.has_history:
        return []
    level = "'schema'" if shape.version == 1 else "level"  # version 1 had no level column
    query = (
        f"SELECT id, revision, phase, direction, {level}, checksum, outcome, applied_by, os_user, "
        "client_host, started_at, duration_ms, dbkit_version, message FROM dbkit.history "
        "ORDER BY id DESC"
    )
    params: tuple = ()
    if limit is not None:
        query += " LIMIT %s"
        params = (limit,)
    rows = [HistoryRow(*row) for row in conn.execute(in_scope(query), params)]
    rows.reverse()
    return rows
