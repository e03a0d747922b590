"""The state dbkit keeps in the target database.

* ``alembic_version``: Alembic's own one-row table holding the current revision, kept in step
  inside each migration's transaction so Alembic and dbkit always agree.
* ``dbkit.history``: one row per run of a migration (up, down, baseline, repair), successful
  or failed, never rewritten. The latest successful non-down row of a revision holds the
  checksum its files had when it was applied.

The SQL text lives once in :mod:`dbkit.plan.registry_sql` (re-exported here) and serves both
the live runner and ``dbkit sql``.

``alembic_version`` is always written schema-qualified: with the schema the connection settled
when it opened (:func:`dbkit.engine.database.settle_version_schema`: the ``version_schema``
setting, a tenant's schema, else where the table already is, else ``public``), never through
the ``search_path`` a role or a migration may change.

Schema-per-tenant (``dbkit fleet``): inside :func:`scoped` with a tenant schema, the
connection's ``search_path`` is that schema (set by :func:`dbkit.engine.database.connect`),
``alembic_version`` is the tenant's own (``<schema>.alembic_version``), and the history tables
live in ``dbkit_<schema>`` (:func:`history_schema`) instead of ``dbkit``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dbkit import __version__
from dbkit.errors import DatabaseStateError, DbkitError
from dbkit.plan.registry_sql import (  # re-exported: the registry's names stay importable here
    INSERT_HISTORY,
    LEFT_APPLIED,
    REGISTRY_DDL,
    REGISTRY_VERSION,
    VERSION_TABLE,
    _move_and_record_sql,
    client_identity,
    history_params,
    history_schema,
    in_scope,
    left_by_phase,
    migration_params,
    phase_left_message,
    registry_ddl,
    scoped,
    tenant_schema,
    upgrade_scripts,
    version_guard_tripped,
    version_statement,
    version_table,
)

if TYPE_CHECKING:
    import psycopg

    from dbkit.plan.graph import Migration, Plan


def version_schema(conn: psycopg.Connection) -> str | None:
    """The schema of ``alembic_version`` settled for ``conn`` when it was opened."""
    return getattr(conn, "version_schema", None)


def scoped_sql(conn: psycopg.Connection, sql: str) -> str:
    """:func:`in_scope` for ``conn``: its registry, its ``alembic_version``."""
    return in_scope(sql, version_schema(conn))


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
    return conn.execute(
        _move_and_record_sql(from_revision, to_revision, version_schema(conn)), params
    )


#: The history row's duration when the row travels in the migration's own query: the
#: server's time since it received that query (statement_timestamp() is the arrival of the
#: latest message from the client), so no second round trip is needed to report it.
SERVER_DURATION_MS = (
    "round((extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::numeric, 3)"
)


def move_and_record_text(
    conn: psycopg.Connection,
    migration: Migration,
    *,
    from_revision: str | None,
    to_revision: str | None,
    direction: str,
    started_at: datetime | None,
) -> str:
    """:func:`move_and_record` as one SQL statement with its values inlined (quoted by the
    driver for this connection), to travel behind the migration's file and in front of
    COMMIT in the same query: a migration without checks is one round trip. The duration is
    measured by the server (:data:`SERVER_DURATION_MS`)."""
    from psycopg import ClientCursor

    params = migration_params(
        migration, direction=direction, started_at=started_at, duration_ms=0.0
    )
    params.update(from_revision=from_revision, to_revision=to_revision)
    del params["duration_ms"]
    sql = _move_and_record_sql(from_revision, to_revision, version_schema(conn)).replace(
        "%(duration_ms)s", SERVER_DURATION_MS, 1
    )
    return ClientCursor(conn).mogrify(sql, params)


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
        scoped_sql(
            conn,
            "SELECT to_regclass('dbkit.registry') IS NOT NULL, "
            "to_regclass('dbkit.history') IS NOT NULL, "
            "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('dbkit.history') "
            "AND attname = 'level' AND NOT attisdropped), "
            "to_regclass('dbkit.preserved_rows') IS NOT NULL, "
            f"to_regclass('{VERSION_TABLE}') IS NOT NULL",
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
            conn.execute(registry_ddl(version_schema(conn)))
        return []
    scripts = upgrade_scripts(shape.version)
    with conn.transaction():
        # the upgrade scripts in order, then comments and version
        conn.execute(registry_ddl(version_schema(conn)))
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
        table = version_table(version_schema(conn))
        rows = [r[0] for r in conn.execute(in_scope(f"SELECT version_num FROM {table}"))]
        if len(rows) > 1:
            raise DatabaseStateError(
                f"{table} holds several revisions ({', '.join(sorted(rows))})",
                hint="dbkit keeps a single linear chain; resolve the branches with Alembic first",
            )
        current = rows[0] if rows else None
    recorded: dict[str, str] = {}
    left: dict[str, str] = {}
    if shape.has_history:
        level = "" if shape.version == 1 else " AND level = 'schema'"  # no level column in 1
        latest: dict[str, int] = {}
        for row_id, revision, checksum, direction, message in conn.execute(
            in_scope(
                "SELECT DISTINCT ON (revision) id, revision, checksum, direction, message "
                "FROM dbkit.history "
                f"WHERE outcome = 'success' AND direction <> 'down'{level} "
                "ORDER BY revision, id DESC"
            )
        ):
            recorded[revision] = checksum
            latest[revision] = row_id
            if direction == "up" and (message or "").startswith(LEFT_APPLIED):
                left[revision] = message
        # a phase's row names the earlier migrations of the run too, until one of them has
        # a later row of its own (run again, accepted by repair)
        for revision, message in list(left.items()):
            for earlier in left_by_phase(message):
                if latest.get(earlier, latest[revision]) < latest[revision]:
                    left.setdefault(earlier, message)
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


__all__ = [  # the SQL text and parameters, from dbkit.plan.registry_sql
    "VERSION_TABLE",
    "LEFT_APPLIED",
    "left_by_phase",
    "phase_left_message",
    "REGISTRY_VERSION",
    "REGISTRY_DDL",
    "upgrade_scripts",
    "INSERT_HISTORY",
    "scoped",
    "tenant_schema",
    "history_schema",
    "in_scope",
    "registry_ddl",
    "version_statement",
    "version_table",
    "migration_params",
    "version_guard_tripped",
    "client_identity",
    "history_params",
]
