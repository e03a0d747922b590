"""Connecting to the target database: one connection, its server check and the migration lock.

The connection runs in autocommit mode. dbkit opens a transaction only around a migration
(or around the whole run for a dry run), so it never sits idle inside one: an idle open
transaction on a dbkit connection would make ``CREATE INDEX CONCURRENTLY`` wait forever.
For the same reason the migration lock is a *session* advisory lock taken with
``pg_try_advisory_lock`` and polled from Python: a blocking ``pg_advisory_lock`` call would
hold a snapshot while it waits, and a concurrent ``CREATE INDEX CONCURRENTLY`` in the run
holding the lock would wait for that snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from typing import TYPE_CHECKING

from dbkit.errors import ConnectionFailed, DbkitError, LockNotAcquired, UnsupportedServer
from dbkit.secrets import mask_url, scrub
from dbkit.settings import Settings
from dbkit.text import one_line

if TYPE_CHECKING:
    import psycopg

# The oldest PostgreSQL major dbkit runs on (docs/decisions.md says why; README states it).
MIN_SERVER_MAJOR = 15
# Advisory lock key for "a dbkit run changes this database": 0x64626b6974 is b"dbkit".
LOCK_KEY = 0x64626B6974


def connect(url: str, settings: Settings | None = None) -> psycopg.Connection:
    """Open the run's connection; every failure becomes one line without the password."""
    import psycopg

    timeout = settings.connect_timeout if settings else 10
    # dbkit's own queries (the registry, row counts, catalog reads) never wait for a lock for
    # ever: the session's lock_timeout bounds them; a migration sets its own inside its
    # transaction, and RESET ALL after it returns to this one.
    options = _with_lock_timeout(url, settings.lock_timeout if settings else "5s")
    if settings is not None and settings.schema is not None:
        # Schema-per-tenant: unqualified names (alembic_version included) are the tenant's.
        # A startup option, not a SET: the session reset after each migration (RESET ALL)
        # returns to it.
        options += " -c search_path=" + ",".join((settings.schema, *settings.shared_schemas))
    try:
        conn = _connection_class().connect(
            url,
            autocommit=True,
            connect_timeout=timeout,
            application_name="dbkit",
            options=options,
        )
    except psycopg.Error as exc:
        raise ConnectionFailed(
            f"cannot connect to {mask_url(url)}: {one_line(scrub(str(exc), url))}"
        ) from None
    try:
        check_server(conn)
        conn.version_schema = settle_version_schema(conn, settings)
    except BaseException:
        conn.close()
        raise
    from dbkit.engine import interrupts

    interrupts.track(conn)  # a second Ctrl-C cancels what it runs before exiting
    return conn


@cache
def _connection_class() -> type:
    """psycopg's Connection with the one thing dbkit needs to know about a session: the
    schema of its ``alembic_version`` (settled once at connect)."""
    import psycopg

    class Session(psycopg.Connection):
        version_schema: str | None = None

    return Session


#: Where ``alembic_version`` is when no setting says: ``public`` when it holds one (where dbkit
#: creates it), else the one the session's search_path finds (an existing database whose table
#: an older dbkit or Alembic created elsewhere keeps it), else ``public``, else the first schema
#: of the search_path that exists. One round trip, no lock taken.
_SETTLE_VERSION_SCHEMA = (
    "SELECT coalesce((SELECT 'public' WHERE to_regclass('public.alembic_version') IS NOT NULL), "
    "(SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n "
    "ON n.oid = c.relnamespace WHERE c.oid = to_regclass('alembic_version') "
    "AND c.relpersistence <> 't'), "
    "(SELECT 'public' FROM pg_namespace WHERE nspname = 'public'), current_schema())"
)


def settle_version_schema(conn: psycopg.Connection, settings: Settings | None) -> str:
    """The schema qualifying ``alembic_version`` on ``conn`` for the whole session: the
    setting (a tenant's schema, ``version_schema``), else :data:`_SETTLE_VERSION_SCHEMA`."""
    configured = settings.version_table_schema if settings is not None else None
    if configured is not None:
        return configured
    return checked_version_schema(conn.execute(_SETTLE_VERSION_SCHEMA).fetchone()[0], settings)


def checked_version_schema(found: str | None, settings: Settings | None) -> str:
    """The result of :data:`_SETTLE_VERSION_SCHEMA`, refused when unusable."""
    if found is None or "'" in found:
        raise DbkitError(
            "cannot tell which schema should hold alembic_version: there is no schema public "
            "and no schema of the session's search_path exists"
            if found is None
            else f"alembic_version is in schema {found!r}, a name dbkit cannot use",
            hint=f'set version_schema = "SCHEMA" in {_settings_file(settings)} to the schema '
            "that holds, or should hold, alembic_version",
        )
    return found


def _settings_file(settings: Settings | None) -> str:
    from dbkit.settings import config_file

    return config_file(settings.project_dir) if settings is not None else "dbkit.toml"


def version_schema(conn: psycopg.Connection) -> str | None:
    """The schema settled for ``conn`` by :func:`connect` (None for another connection)."""
    return getattr(conn, "version_schema", None)


def throwaway(conn: psycopg.Connection) -> None:
    """A scratch database's session: commits need not wait for the disk. Set on the database
    too, so the session reset after each migration (RESET ALL) keeps it."""
    from psycopg import sql

    conn.execute(
        sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
            sql.Identifier(conn.info.dbname)
        )
    )
    conn.execute("SET synchronous_commit = off")


def lock_key(schema: str | None = None) -> int:
    """The advisory lock key of a run: one per database, or one per tenant schema in it."""
    if schema is None:
        return LOCK_KEY
    import zlib

    # High bits from the schema name, low bits from b"dbkit": a signed 64-bit key.
    return ((zlib.crc32(schema.encode()) & 0x7FFFFF) << 40) | LOCK_KEY


def _with_lock_timeout(url: str, lock_timeout: str) -> str:
    """The URL's own ``options`` with ``-c lock_timeout=...`` appended."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        given = conninfo_to_dict(url).get("options") or ""
    except Exception:  # noqa: BLE001 - a malformed URL is reported by connect itself
        given = ""
    value = str(lock_timeout).replace(" ", "")
    return f"{given} -c lock_timeout={value}".strip()


def exclusive_lock_holders(conn: psycopg.Connection) -> list[str]:
    """Sessions holding an ACCESS EXCLUSIVE lock on a relation of this database (what blocks
    even a read), to name what dbkit's own query waited for."""
    import psycopg

    try:
        if conn.closed or conn.broken:
            return []
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        rows = conn.execute(
            "SELECT l.relation::regclass::text, a.pid, a.usename, a.application_name, a.state "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.granted AND l.mode = 'AccessExclusiveLock' AND l.locktype = 'relation' "
            "AND l.pid <> pg_backend_pid() AND l.database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database()) ORDER BY 1, 2 LIMIT 5"
        ).fetchall()
    except psycopg.Error:
        return []
    return [
        f"pid {pid} holding AccessExclusiveLock on {relation} (role {user}, application "
        f"{application or '?'}, {state})"
        for relation, pid, user, application, state in rows
    ]


def check_server(conn: psycopg.Connection) -> int:
    """Refuse servers older than the oldest major dbkit supports and is tested on."""
    version = conn.info.server_version
    major = version // 10000
    if major < MIN_SERVER_MAJOR:
        raise UnsupportedServer(
            f"PostgreSQL {major} is not supported: dbkit needs PostgreSQL {MIN_SERVER_MAJOR} or "
            f"newer (server reports {version})",
            hint="upgrade the server, or point dbkit at a newer one with --url",
        )
    return major


def lock_holder(conn: psycopg.Connection, key: int = LOCK_KEY) -> str | None:
    row = conn.execute(
        "SELECT a.pid, a.usename, a.application_name, a.client_addr, a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
        "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
        "WHERE datname = current_database()) LIMIT 1",
        (key >> 32, key & 0xFFFFFFFF),
    ).fetchone()
    if row is None:
        return None
    pid, user, application, address, started = row
    where = f" from {address}" if address else ""
    return (
        f"pid {pid} (role {user}, application {application or '?'}{where}, "
        f"connected {started:%Y-%m-%d %H:%M:%S})"
    )


@contextmanager
def migration_lock(
    conn: psycopg.Connection,
    wait: float,
    on_wait: Callable[[str], None] | None = None,
    key: int = LOCK_KEY,
    settings_file: str = "dbkit.toml",
) -> Iterator[None]:
    """Hold the session advisory lock for the duration of a run.

    Waits up to ``wait`` seconds for another run to finish, then raises LockNotAcquired.
    ``key``: :func:`lock_key` of the run (a tenant schema's runs lock only that schema).
    """
    deadline = time.monotonic() + wait
    announced = False
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
        holder = lock_holder(conn, key) or "another session"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LockNotAcquired(
                f"another dbkit run holds the migration lock on this database: {holder}; "
                f"gave up after waiting {wait:g}s",
                hint=f"wait for it to finish, or raise lock_wait in {settings_file}",
            )
        if not announced and on_wait is not None:
            on_wait(f"waiting up to {wait:g}s for the migration lock held by {holder}")
            announced = True
        time.sleep(min(0.25, max(remaining, 0.01)))
    try:
        yield
    finally:
        if not conn.closed:
            # If the connection broke, the lock died with the session anyway.
            with suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def lock_blockers(conn: psycopg.Connection, relations: list[str]) -> list[str]:
    """Who holds locks on the given relations (or the tables of given indexes) right now, to
    name the lock a migration hit."""
    if not relations:
        return []
    rows = conn.execute(
        "SELECT DISTINCT l.relation::regclass::text, a.pid, a.usename, a.application_name, "
        "a.state, l.mode FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.granted AND l.pid <> pg_backend_pid() AND l.relation IN ("
        "SELECT to_regclass(name) FROM unnest(%s::text[]) AS name "
        "UNION SELECT i.indrelid FROM pg_index i "
        "WHERE i.indexrelid IN (SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)"
        ") ORDER BY 1, 2",
        (relations, relations),
    ).fetchall()
    return [
        f"pid {pid} holding {mode} on {relation} (role {user}, application "
        f"{application or '?'}, {state})"
        for relation, pid, user, application, state, mode in rows
    ]


@contextmanager
def statement_budget(conn: psycopg.Connection, timeout: str | None) -> Iterator[None]:
    """Run the block under ``statement_timeout = timeout`` (a check's or key query's budget).

    Inside a transaction the setting is transaction-local and put back afterwards; outside one
    it is set for the session and put back. ``"0"`` or None: no budget.
    """
    if not timeout or timeout.strip() in ("0", "0s", "0ms"):
        yield
        return
    from psycopg.pq import TransactionStatus

    local = conn.info.transaction_status != TransactionStatus.IDLE
    previous = conn.execute("SELECT current_setting('statement_timeout')").fetchone()[0]
    conn.execute("SELECT set_config('statement_timeout', %s, %s)", (timeout, local))
    try:
        yield
    finally:
        if conn.info.transaction_status in (TransactionStatus.IDLE, TransactionStatus.INTRANS):
            conn.execute("SELECT set_config('statement_timeout', %s, %s)", (previous, local))
