"""SIGINT and SIGTERM are a failure of the running step, with real signals to a real ``dbkit``.

Each test starts ``dbkit`` in a subprocess, waits until the server shows the statement it wants
to interrupt (``pg_stat_activity``), sends the signal, and then asserts the server's state: no
backend still running the statement, the transaction rolled back (or the non-transactional
migration undone and its invalid index dropped), a history row saying ``interrupted``, the
migration lock released, no scratch database left, one ``dbkit: error: interrupted ...`` line
and exit code 130 (SIGINT) or 143 (SIGTERM).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from projects import Spec, write_project

DBKIT = str(Path(sys.executable).with_name("dbkit"))
SLEEP = "SELECT pg_sleep(30);"

TABLE = Spec("items", "core", "CREATE TABLE items (id int);\n", "DROP TABLE IF EXISTS items;\n")
SLOW = Spec(
    "slow",
    "core",
    "CREATE TABLE slow_t (id int);\n"
    # sleeps only in the throwaway databases of verify and drift (and in the target database
    # of the migrate tests, which name theirs so)
    "SELECT pg_sleep(CASE WHEN current_database() ~ '^dbkit_(verify|drift|int)_' THEN 30 "
    "ELSE 0 END);\n",
    "DROP TABLE IF EXISTS slow_t;\n",
)
INDEX = Spec(
    "items_index",
    "core",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_items_id ON items (id);\n",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_items_id;\n",
    options="transactional = False\n",
)
TWO_STEP = Spec(
    "two_step",
    "core",
    f"CREATE TABLE IF NOT EXISTS two_a (id int);\n{SLEEP}\n",
    f"{SLEEP}\nDROP TABLE IF EXISTS two_a;\n",
    options="transactional = False\n",
)


def _start(project: Path, url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    return subprocess.Popen(
        [DBKIT, "--project", str(project), "--url", url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _admin(pg_server) -> psycopg.Connection:
    return psycopg.connect(pg_server.admin_url, autocommit=True)


def _wait_for(pg_server, pattern: str, *, database: str | None = None, lock=False, proc=None):
    """Wait until a dbkit backend runs a statement matching ``pattern`` (waiting on a lock if
    ``lock``); ``database`` is a LIKE pattern (default: any)."""
    deadline = time.monotonic() + 30
    with _admin(pg_server) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'dbkit' "
                "AND state = 'active' AND query ILIKE %s AND datname LIKE %s "
                "AND (NOT %s OR wait_event_type = 'Lock')",
                (pattern, database or "%", lock),
            ).fetchone()
            if row:
                return row[0]
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"dbkit ended early: {proc.communicate()}")
            time.sleep(0.05)
    raise AssertionError(f"no dbkit backend ran {pattern!r}")


def _finish(proc: subprocess.Popen, signum: int) -> tuple[int, str, str]:
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def _leftovers(pg_server, pattern: str) -> list:
    """Backends still running a matching statement (give the server a moment to end them)."""
    deadline = time.monotonic() + 5
    with _admin(pg_server) as conn:
        while True:
            rows = conn.execute(
                "SELECT pid, datname, query FROM pg_stat_activity WHERE query ILIKE %s "
                "AND pid <> pg_backend_pid() AND state <> 'idle'",
                (pattern,),
            ).fetchall()
            if not rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def _lock_free(url: str) -> bool:
    return not _query(
        url, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 1650551156"
    )


@pytest.fixture
def named_db(pg_server):
    """A database whose name starts with dbkit_ (so SLOW sleeps there), dropped afterwards."""
    name = f"dbkit_int_{os.getpid()}_{time.monotonic_ns() % 10**8}"
    with _admin(pg_server) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_server.template}"')
    yield pg_server.url(name)
    pg_server.drop_database(name)


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("dbkit: error:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("dbkit: error: interrupted by "), err
    return lines[0]


@pytest.mark.parametrize(
    "signum, code, name", [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_inside_a_transactional_migration(pg_server, named_db, tmp_path, signum, code, name):
    project = write_project(tmp_path / "proj", [TABLE, SLOW])
    proc = _start(project, named_db, "migrate", "--json")
    _wait_for(pg_server, "%pg_sleep%", proc=proc)
    returncode, out, err = _finish(proc, signum)
    assert returncode == code, err
    line = _one_error_line(err)
    assert f"interrupted by {name} during 0002_slow (up)" in line
    assert "its transaction was rolled back" in line and "the database is at 0001" in line
    payload = json.loads(out)
    assert payload["exit_code"] == code if "exit_code" in payload else True
    assert "interrupted" in json.dumps(payload)
    assert not _leftovers(pg_server, "%pg_sleep%")
    assert _query(named_db, "SELECT version_num FROM alembic_version") == [("0001",)]
    assert _query(named_db, "SELECT to_regclass('slow_t')") == [(None,)]
    rows = _query(named_db, "SELECT outcome, message FROM dbkit.history WHERE revision = '0002'")
    assert len(rows) == 1 and rows[0][1].startswith(f"interrupted by {name}"), (rows, err)
    assert rows[0][0] == "interrupted"
    assert _lock_free(named_db)


def test_inside_a_non_transactional_index_build(pg_server, db_url, tmp_path):
    project = write_project(tmp_path / "proj", [TABLE, INDEX])
    (project / "dbkit.toml").write_text('lock_timeout = "60s"\n')
    ready = _start(project, db_url, "migrate", "--to", "0001")
    assert ready.wait(60) == 0
    # An open snapshot in the same database holds the concurrent build up.
    blocker = psycopg.connect(db_url)
    blocker.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    blocker.execute("SELECT count(*) FROM pg_class").fetchone()
    try:
        proc = _start(project, db_url, "migrate")
        _wait_for(pg_server, "CREATE INDEX CONCURRENTLY%", lock=True, proc=proc)
        returncode, _, err = _finish(proc, signal.SIGINT)
    finally:
        blocker.close()
    assert returncode == 130, err
    line = _one_error_line(err)
    assert "during 0002_items_index (up)" in line
    assert "dropped invalid index" in line and "the database is at 0001" in line
    assert not _leftovers(pg_server, "CREATE INDEX CONCURRENTLY%")
    assert _query(db_url, "SELECT to_regclass('ix_items_id')") == [(None,)]
    assert _query(db_url, "SELECT version_num FROM alembic_version") == [("0001",)]
    rows = _query(db_url, "SELECT message FROM dbkit.history WHERE revision = '0002'")
    assert len(rows) == 1 and rows[0][0].startswith("interrupted by SIGINT")
    assert _lock_free(db_url)


def test_during_a_check(pg_server, db_url, tmp_path):
    more = Spec("more", "core", "CREATE TABLE more_items (id int);\n", "DROP TABLE more_items;\n")
    project = write_project(tmp_path / "proj", [TABLE, more])
    (project / "validations" / "0002_more.pre.sql").write_text(
        "-- check: slow_check\nSELECT x FROM (SELECT pg_sleep(30)::text AS x) AS t WHERE x = 'no'\n"
    )
    proc = _start(project, db_url, "migrate")
    _wait_for(pg_server, "%pg_sleep%", proc=proc)
    returncode, _, err = _finish(proc, signal.SIGTERM)
    assert returncode == 143, err
    line = _one_error_line(err)
    assert "during 0002_more (up)" in line and "the database is at 0001" in line
    assert not _leftovers(pg_server, "%pg_sleep%")
    assert _query(db_url, "SELECT to_regclass('more_items')") == [(None,)]
    assert _lock_free(db_url)


def test_during_the_phase_snapshot(pg_server, db_url, tmp_path):
    project = write_project(tmp_path / "proj", [TABLE])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE held (id int)")
    blocker = psycopg.connect(db_url)
    blocker.execute("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
    try:
        proc = _start(project, db_url, "migrate")
        _wait_for(pg_server, "%count(%", lock=True, proc=proc)
        returncode, _, err = _finish(proc, signal.SIGINT)
    finally:
        blocker.close()
    assert returncode == 130, err
    line = _one_error_line(err)
    assert "snapshot of phase core" in line and "the database is at base" in line
    assert not _leftovers(pg_server, "%count(%")
    assert _query(db_url, "SELECT to_regclass('items')") == [(None,)]
    assert _lock_free(db_url)


def _scratch_databases(pg_server, prefix: str) -> list:
    with _admin(pg_server) as conn:
        return conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",)
        ).fetchall()


def test_during_verify(pg_server, db_url, tmp_path):
    project = write_project(tmp_path / "proj", [TABLE, SLOW])
    before = _scratch_databases(pg_server, "dbkit_verify")
    proc = _start(project, db_url, "verify")
    _wait_for(pg_server, "%pg_sleep%", database="dbkit_verify%", proc=proc)
    returncode, _, err = _finish(proc, signal.SIGTERM)
    assert returncode == 143, err
    line = _one_error_line(err)
    assert "during dbkit verify" in line and "was dropped" in line
    assert not _leftovers(pg_server, "%pg_sleep%")
    assert _scratch_databases(pg_server, "dbkit_verify") == before


def test_during_drift(pg_server, db_url, tmp_path):
    project = write_project(tmp_path / "proj", [TABLE, SLOW])
    ready = _start(project, db_url, "migrate")
    assert ready.wait(60) == 0, ready.communicate()
    before = _scratch_databases(pg_server, "dbkit_drift")
    proc = _start(project, db_url, "drift")
    _wait_for(pg_server, "%pg_sleep%", database="dbkit_drift%", proc=proc)
    returncode, _, err = _finish(proc, signal.SIGINT)
    assert returncode == 130, err
    line = _one_error_line(err)
    assert "during dbkit drift" in line and "was dropped" in line
    assert not _leftovers(pg_server, "%pg_sleep%")
    assert _scratch_databases(pg_server, "dbkit_drift") == before


def test_a_second_ctrl_c_exits_at_once_and_still_cancels(pg_server, db_url, tmp_path):
    project = write_project(tmp_path / "proj", [TWO_STEP])
    proc = _start(project, db_url, "migrate")
    pid = _wait_for(pg_server, "%pg_sleep%", proc=proc)
    with _admin(pg_server) as conn:
        first = conn.execute(
            "SELECT query_start FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()[0]
        proc.send_signal(signal.SIGINT)
        # the undo (its paired file) starts with a sleep of its own: interrupt that too
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state = 'active' "
                "AND query ILIKE '%%pg_sleep%%' AND query_start > %s",
                (pid, first),
            ).fetchone():
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"the undo never started: {proc.communicate()}")
    started = time.monotonic()
    returncode, _, err = _finish(proc, signal.SIGINT)
    assert time.monotonic() - started < 10
    assert returncode == 130, err
    assert "dbkit: error: interrupted again (SIGINT): exiting at once" in err
    assert not _leftovers(pg_server, "%pg_sleep%")
    assert _lock_free(db_url)


# -- adopt, baseline and info ---------------------------------------------------------------

BASELINE_SLOW = Spec(
    "slow",
    "core",
    "CREATE TABLE slow_t (id int);\n"
    # sleeps only in the throwaway database of the baseline check
    "SELECT pg_sleep(CASE WHEN current_database() ~ '^dbkit_baseline_' THEN 30 ELSE 0 END);\n",
    "DROP TABLE IF EXISTS slow_t;\n",
)


def _untouched(url: str) -> None:
    """Nothing of dbkit was written: no registry, no version table, no lock left."""
    assert _query(url, "SELECT to_regnamespace('dbkit'), to_regclass('alembic_version')") == [
        (None, None)
    ]
    assert _lock_free(url)


@pytest.mark.parametrize(
    "signum, code, name", [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_baseline_during_its_schema_check(pg_server, db_url, tmp_path, signum, code, name):
    project = write_project(tmp_path / "proj", [TABLE, BASELINE_SLOW])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int); CREATE TABLE slow_t (id int)")
    before = _scratch_databases(pg_server, "dbkit_baseline")
    proc = _start(project, db_url, "baseline", "0002")
    _wait_for(pg_server, "%pg_sleep%", database="dbkit_baseline%", proc=proc)
    returncode, _, err = _finish(proc, signum)
    assert returncode == code, err
    line = _one_error_line(err)
    assert f"interrupted by {name} during " in line and "nothing was changed" in line
    assert not _leftovers(pg_server, "%pg_sleep%")
    assert _scratch_databases(pg_server, "dbkit_baseline") == before
    _untouched(db_url)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_adopt_waiting_for_the_migration_lock(pg_server, db_url, tmp_path, signum, code):
    from test_adopt import imported, migrate_with_tool

    migrate_with_tool("golang-migrate", db_url, 2, pg_server, tmp_path)
    project = imported("golang-migrate", tmp_path)
    holder = psycopg.connect(db_url, autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (0x64626B6974,))
        proc = _start(project, db_url, "adopt")
        # waiting: between polls the backend's last query is pg_try_advisory_lock or the
        # lookup of the lock's holder (locktype = 'advisory'); both name "advisory"
        _wait_for_idle(pg_server, "%advisory%", proc)
        returncode, _, err = _finish(proc, signum)
    finally:
        holder.close()
    assert returncode == code, err
    line = _one_error_line(err)
    assert "during dbkit adopt: nothing was changed" in line
    _untouched(db_url)
    assert _query(db_url, "SELECT version, dirty FROM schema_migrations") == [(2, False)]


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_info_waiting_behind_a_lock_on_the_history(pg_server, db_url, tmp_path, signum, code):
    project = write_project(tmp_path / "proj", [TABLE])
    (project / "dbkit.toml").write_text('lock_timeout = "60s"\n')
    ready = _start(project, db_url, "migrate")
    assert ready.wait(60) == 0, ready.communicate()
    rows_before = _query(db_url, "SELECT * FROM dbkit.history ORDER BY id")
    holder = psycopg.connect(db_url)
    try:
        holder.execute("LOCK TABLE dbkit.history IN ACCESS EXCLUSIVE MODE")
        proc = _start(project, db_url, "info", "--json")
        _wait_for(pg_server, "%dbkit.history%", lock=True, proc=proc)
        returncode, out, err = _finish(proc, signum)
    finally:
        holder.close()
    assert returncode == code, err
    line = _one_error_line(err)
    assert "during dbkit info: nothing was changed" in line
    payload = json.loads(out)
    assert payload["ok"] is False and payload["exit_code"] == code
    assert not _leftovers(pg_server, "%dbkit.history%")
    assert _query(db_url, "SELECT * FROM dbkit.history ORDER BY id") == rows_before
    assert _lock_free(db_url)


def _wait_for_idle(pg_server, pattern: str, proc: subprocess.Popen) -> None:
    """Wait until a dbkit backend's last statement matches ``pattern`` (a polling loop)."""
    deadline = time.monotonic() + 30
    with _admin(pg_server) as conn:
        while time.monotonic() < deadline:
            if conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = 'dbkit' "
                "AND query ILIKE %s",
                (pattern,),
            ).fetchone():
                return
            if proc.poll() is not None:
                raise AssertionError(f"dbkit ended early: {proc.communicate()}")
            time.sleep(0.05)
    raise AssertionError(f"no dbkit backend ran {pattern!r}")


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_validate_deep_interrupted_during_a_key_proof(pg_server, db_url, tmp_path, signum, code):
    """validate --deep reads whole child tables (minutes at production size): a signal while
    one anti-join runs (here: waits behind a lock) cancels it, changes nothing, one line."""
    from projects import BASIC

    project = write_project(tmp_path / "proj", BASIC)
    (project / "dbkit.toml").write_text('lock_timeout = "60s"\ncheck_timeout = "60s"\n')
    ready = _start(project, db_url, "migrate")
    assert ready.wait(60) == 0, ready.communicate()
    rows_before = _query(db_url, "SELECT * FROM dbkit.history ORDER BY id")
    holder = psycopg.connect(db_url)
    try:
        holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        proc = _start(project, db_url, "validate", "--deep", "--json")
        _wait_for(pg_server, "%orders%", lock=True, proc=proc)
        returncode, out, err = _finish(proc, signum)
    finally:
        holder.close()
    assert returncode == code, err
    assert "interrupted" in _one_error_line(err)
    payload = json.loads(out)
    assert payload["ok"] is False and payload["exit_code"] == code
    assert not _leftovers(pg_server, "%orders%")
    assert _query(db_url, "SELECT * FROM dbkit.history ORDER BY id") == rows_before
    assert _lock_free(db_url)
