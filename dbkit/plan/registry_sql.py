"""The registry's SQL text, parameters and tenant scoping: pure (no driver), so the offline
renderer (``dbkit sql``, the plan layer) and the live registry (:mod:`dbkit.engine.registry`,
which re-exports every name here) share one copy and the plan never imports the engine.

Schema-per-tenant (``dbkit fleet``): inside :func:`scoped` with a tenant schema, the
registry's statements are aimed at that schema's registry (:func:`in_scope`).
"""

from __future__ import annotations

import getpass
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbkit import __version__

if TYPE_CHECKING:
    from dbkit.plan.graph import Migration

VERSION_TABLE = "alembic_version"
#: How the history row of a run that applied a migration although one of its checks failed
#: (``--no-auto-rollback``) starts its message: one row per run, ``success`` (the migration is
#: applied), and ``status`` names it until it is rolled back.
LEFT_APPLIED = "LEFT APPLIED after failing its checks"
#: A phase's post-checks (or performance guard) failed under ``--no-auto-rollback`` after its
#: migrations committed: one more row for the run, on the last migration it applied, whose
#: message names every migration the run left applied (:func:`left_by_phase`).
_PHASE_LEFT = re.compile(
    re.escape(LEFT_APPLIED) + r": phase (?P<phase>\S+) \((?P<revisions>[^)]*) applied by this run\)"
)


def phase_left_message(phase: str, revisions: list[str], failure: str) -> str:
    """The message of the row a failed phase run leaves (parsed by :func:`left_by_phase`)."""
    return f"{LEFT_APPLIED}: phase {phase} ({', '.join(revisions)} applied by this run): {failure}"


def left_by_phase(message: str | None) -> list[str]:
    """The revisions a phase-level left-applied row names (empty for any other message)."""
    found = _PHASE_LEFT.match(message or "")
    return found["revisions"].split(", ") if found else []


#: The registry's shape version: 1 history only, 2 + the level column and phase snapshots,
#: 3 + preserved rows, 4 + ``dbkit.registry`` (this number), outcome ``interrupted`` and a
#: comment on every column, 5 + ``dbkit.in_progress`` (non-transactional runs started and not
#: finished), 6 + ``dbkit.preserved_chunks`` (a preserved table's digest per key range instead of
#: a hash per row). An older registry is upgraded by the scripts in
#: ``registry_upgrades/`` (``NNNN_name.sql`` upgrades to version NNNN), applied in order in one
#: transaction by the first writing command, under the migration lock.
REGISTRY_VERSION = 6

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
CREATE TABLE IF NOT EXISTS dbkit.preserved_chunks (
    snapshot_id bigint NOT NULL,
    relation text NOT NULL,
    chunk integer NOT NULL,
    low_key jsonb,
    high_key jsonb,
    row_count bigint NOT NULL,
    digest numeric NOT NULL,
    CONSTRAINT pk_preserved_chunks PRIMARY KEY (snapshot_id, relation, chunk),
    CONSTRAINT fk_preserved_chunks_snapshot FOREIGN KEY (snapshot_id)
        REFERENCES dbkit.phase_snapshots (id) ON DELETE CASCADE
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
    '{"schema.table": {"rows": n, "columns": [...], "filenode": n}}; digests: preserved_chunks';
COMMENT ON TABLE dbkit.preserved_rows IS
    'Row hashes of preserved tables in snapshots of registry 5 and older (read, never written)';
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
COMMENT ON TABLE dbkit.preserved_chunks IS
    'Content digest of a preserved table per primary-key range, taken before a phase';
COMMENT ON COLUMN dbkit.preserved_chunks.snapshot_id IS 'The phase snapshot the digest belongs to';
COMMENT ON COLUMN dbkit.preserved_chunks.relation IS 'schema.table the range was read from';
COMMENT ON COLUMN dbkit.preserved_chunks.chunk IS 'Range number, in key order from 0';
COMMENT ON COLUMN dbkit.preserved_chunks.low_key IS
    'First key of the range (its columns as text; NULL: the table is digested whole)';
COMMENT ON COLUMN dbkit.preserved_chunks.high_key IS
    'Last key of the range, inclusive (NULL: the table is digested whole)';
COMMENT ON COLUMN dbkit.preserved_chunks.row_count IS 'Rows in the range';
COMMENT ON COLUMN dbkit.preserved_chunks.digest IS
    'Sum of hashtextextended(row as text, 0) over the range (order-independent)';
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


# The upgrade scripts ship as data of the engine package (dbkit/engine/registry_upgrades/).
_UPGRADES_DIR = Path(__file__).parent.parent / "engine" / "registry_upgrades"


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


def ident(name: str) -> str:
    """``name`` as an SQL identifier: bare when it is a plain lowercase name, else quoted."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def version_table(version_schema: str | None = None) -> str:
    """``alembic_version`` qualified with ``version_schema`` (else the scope's tenant schema;
    else bare, for callers that have neither)."""
    schema = version_schema or _TENANT.get()
    return VERSION_TABLE if schema is None else f"{ident(schema)}.{VERSION_TABLE}"


def in_scope(sql: str, version_schema: str | None = None) -> str:
    """``sql`` (written against ``dbkit.`` and ``alembic_version``) aimed at the registry of
    the current scope: ``dbkit_<schema>.`` for a tenant, and ``alembic_version`` qualified
    with ``version_schema`` (the connection's, see :func:`dbkit.engine.database.connect`), else
    the tenant's schema, so neither the session's search_path nor a migration's ``SET
    search_path`` decides which table is read or written."""
    schema = _TENANT.get()
    if schema is not None:
        sql = re.sub(r"\bdbkit\.(?=[a-z_])", f"dbkit_{schema}.", sql)
    if (version_schema or schema) is None:
        return sql
    return re.sub(rf'(?<![.\w"]){VERSION_TABLE}\b', version_table(version_schema), sql)


def registry_ddl(version_schema: str | None = None) -> str:
    """REGISTRY_DDL for the current scope and version schema (a tenant's schema is created
    with its registry; so is a ``version_schema`` other than ``public``)."""
    schema = _TENANT.get()
    ddl = in_scope(REGISTRY_DDL, version_schema)
    if schema is not None:
        ddl = ddl.replace(
            "SCHEMA IF NOT EXISTS dbkit;", f"SCHEMA IF NOT EXISTS dbkit_{schema};"
        ).replace("COMMENT ON SCHEMA dbkit IS", f"COMMENT ON SCHEMA dbkit_{schema} IS")
    owner = version_schema or schema
    if owner is not None and owner != "public":
        ddl = f"CREATE SCHEMA IF NOT EXISTS {ident(owner)};\n{ddl}"
    return ddl


def version_statement(
    from_revision: str | None, to_revision: str | None, version_schema: str | None = None
) -> tuple[str, tuple]:
    """The statement moving ``alembic_version`` from one revision to the next."""
    table = version_table(version_schema)
    if from_revision is None:
        return in_scope(f"INSERT INTO {table} (version_num) VALUES (%s)"), (to_revision,)
    if to_revision is None:
        return in_scope(f"DELETE FROM {table} WHERE version_num = %s"), (from_revision,)
    return (
        in_scope(f"UPDATE {table} SET version_num = %s WHERE version_num = %s"),
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


def _move_and_record_sql(
    from_revision: str | None, to_revision: str | None, version_schema: str | None = None
) -> str:
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
    return in_scope(
        f"WITH moved AS ({moved} RETURNING 1) {_HISTORY_INTO} VALUES ({values})", version_schema
    )


def version_guard_tripped(exc: Exception) -> bool:
    """True when :func:`move_and_record` failed because alembic_version was elsewhere."""
    diag = getattr(exc, "diag", None)
    return (
        getattr(exc, "sqlstate", None) == "23502"
        and diag is not None
        and diag.table_name == "history"
        and diag.column_name == "revision"
    )


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
