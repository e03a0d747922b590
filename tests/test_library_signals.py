"""SIGINT and SIGTERM for programs calling ``dbkit.api`` (issue 11): real signals to a small Python
program in a subprocess, in the main thread and in worker threads. The guarantees are the CLI's:
the statement cancelled on the server, the step undone, an ``interrupted`` history row, the lock
released, ``Interrupted`` with exit code 130/143, the program's own handlers back afterwards."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from projects import Spec, write_project

TABLE = Spec("items", "core", "CREATE TABLE items (id int);\n", "DROP TABLE items;\n")
SLOW = Spec(
    "slow",
    "core",
    "CREATE TABLE slow_t (id int);\nSELECT pg_sleep(30);\n",
    "DROP TABLE slow_t;\n",
)

PROGRAM = r"""
import json, signal, sys, threading

from dbkit import api, settings
from dbkit.errors import DbkitError

project, mode, *urls = sys.argv[1:]


def call(url):
    try:
        api.migrate(settings.resolve(project, url=url, environ={}))
        return {"ok": True}
    except DbkitError as exc:
        return {"type": type(exc).__name__, "exit_code": int(exc.exit_code), "message": exc.message}


if mode == "fleet":
    from dbkit.fleet.run import Limits, Selection

    result = api.fleet_migrate(
        settings.resolve(project, environ={}), Selection(), Limits(jobs=len(urls))
    )
    print(json.dumps(result.to_dict()))
    sys.exit(result.exit_code)

if mode == "main":
    result = call(urls[0])
    result["handlers_back"] = (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    )
    print(json.dumps(result))
    sys.exit(result.get("exit_code", 0))

results = {}
done = threading.Semaphore(0)


def work(url):
    try:
        results[url] = call(url)
    finally:
        done.release()


# Waits with a semaphore: on Python 3.11 a signal interrupting Thread.join() marks the
# thread finished, so a later join() returns at once.
main = None
with api.signals_handled():
    threads = [threading.Thread(target=work, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    waited = 0
    while waited < len(threads):
        try:
            done.acquire()
            waited += 1
        except KeyboardInterrupt as exc:
            main = getattr(exc, "signum", None)
print(json.dumps({"main": main, "results": [results[url] for url in urls]}))
"""


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def _sleeping(url: str) -> bool:
    return bool(
        _query(
            url,
            "SELECT 1 FROM pg_stat_activity WHERE application_name = 'dbkit' AND state = 'active' "
            "AND datname = current_database() AND query ILIKE '%pg_sleep(30)%'",
        )
    )


def _start(tmp_path: Path, project: Path, mode: str, urls: list[str]) -> subprocess.Popen:
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    return subprocess.Popen(
        [sys.executable, str(program), str(project), mode, *urls],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_sleeping(proc: subprocess.Popen, urls: list[str]) -> None:
    deadline = time.monotonic() + 60
    while not all(_sleeping(url) for url in urls):
        if proc.poll() is not None:
            raise AssertionError(f"the program ended early: {proc.communicate()}")
        assert time.monotonic() < deadline, "the migrations never reached pg_sleep"
        time.sleep(0.05)


def _assert_undone(url: str) -> None:
    deadline = time.monotonic() + 5
    while _sleeping(url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _sleeping(url), "the statement still runs on the server"
    assert _query(url, "SELECT version_num FROM alembic_version") == [("0001",)]
    assert _query(url, "SELECT to_regclass('slow_t')") == [(None,)]
    assert _query(url, "SELECT outcome FROM dbkit.history WHERE revision = '0002'") == [
        ("interrupted",)
    ]
    locks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 1650551156"
    assert _query(url, locks) == [(0,)]


@pytest.mark.parametrize(
    "signum, code, name", [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_an_api_call_in_the_main_thread(tmp_path, db_url, signum, code, name):
    project = write_project(tmp_path / "p", [TABLE, SLOW])
    proc = _start(tmp_path, project, "main", [db_url])
    _wait_until_sleeping(proc, [db_url])
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, (out, err)
    result = json.loads(out)
    assert result["type"] == "Interrupted" and result["exit_code"] == code
    assert result["message"].startswith(f"interrupted by {name} during ")
    assert "rolled back" in result["message"]
    assert result["handlers_back"] is True
    assert "Traceback" not in err
    _assert_undone(db_url)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_api_calls_in_worker_threads_are_cancelled_too(tmp_path, make_db, signum, code):
    urls = [make_db(), make_db()]
    project = write_project(tmp_path / "p", [TABLE, SLOW])
    proc = _start(tmp_path, project, "threads", urls)
    _wait_until_sleeping(proc, urls)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    found = json.loads(out)
    assert found["main"] == signum  # the main thread heard it ...
    for result in found["results"]:  # ... and each thread's run stopped and undid its step
        assert result["type"] == "Interrupted", result
        assert result["exit_code"] == code
    assert "Traceback" not in err, err
    for url in urls:
        _assert_undone(url)


def test_a_fleet_run_from_a_library_cancels_every_target(tmp_path, make_db):
    """fleet_migrate runs its targets in threads: the main thread's SIGTERM cancels each
    target's statement at once (no waiting for its migration to finish)."""
    urls = [make_db(), make_db()]
    project = write_project(tmp_path / "p", [TABLE, SLOW])
    lines = []
    for number, url in enumerate(urls):
        lines += ["[[targets]]", f'name = "t{number}"', f"url = {json.dumps(url)}", ""]
    (project / "fleet.toml").write_text("\n".join(lines))
    proc = _start(tmp_path, project, "fleet", urls)
    _wait_until_sleeping(proc, urls)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 20  # not the 30 s the statements would have slept
    assert proc.returncode == 143, err
    found = json.loads(out)
    assert found["exit_code"] == 143
    assert [t["outcome"] for t in found["targets"]] == ["interrupted", "interrupted"]
    assert "Traceback" not in err, err
    for url in urls:
        _assert_undone(url)
