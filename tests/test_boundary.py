"""The command line's one error boundary (dbkit.cli.base.DbkitGroup): every failure, whatever
raised it, is one ``dbkit: error: ...`` line and its exit code; global options after the
command; what a failed SQL statement reports."""

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
from click.testing import CliRunner
from projects import ACCOUNTS, BASIC, Spec, write_project

from dbkit.cli import main

ENV = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1", "DBKIT_ENV": ""}


def dbkit(*args: str):
    return CliRunner().invoke(main, list(args), env=ENV, catch_exceptions=False)


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dbkit: error: "), lines[0]
    return lines[0].removeprefix("dbkit: error: ")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["bogus"], "no such command 'bogus' (see `dbkit --help`)"),
        (["new", "x"], "missing option '--phase' (see `dbkit new --help`)"),
        (
            ["rollback", "--steps", "x"],
            "invalid value for '--steps': 'x' is not a valid integer (see `dbkit rollback --help`)",
        ),
        (["status", "--bogus"], "no such option '--bogus' (see `dbkit status --help`)"),
        (["db", "nope"], "no such command 'nope' (see `dbkit db --help`)"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args, expected, tmp_path):
    project = write_project(tmp_path, BASIC)
    result = dbkit("--project", str(project), *args)
    assert result.exit_code == 2
    assert one_error_line(result) == expected
    assert result.stdout == ""


def test_a_dbkit_error_is_one_line_with_its_exit_code(tmp_path):
    result = dbkit("--project", str(tmp_path), "status")
    assert result.exit_code == 2
    assert one_error_line(result).endswith(
        "not a dbkit project (no migrations/versions/ directory) (run `dbkit init` to create "
        "one, or pass --project)"
    )


def test_db_commands_refuse_outside_a_project(tmp_path):
    for sub in ("start", "stop", "status", "url"):
        result = dbkit("--project", str(tmp_path), "db", sub)
        assert result.exit_code == 2, sub
        assert "not a dbkit project" in one_error_line(result)
    assert not (tmp_path / ".dbkit").exists()  # nothing was created, no server started


def test_global_options_are_accepted_after_the_command(tmp_path, db_url):
    project = write_project(tmp_path, BASIC)
    result = dbkit("migrate", "--to", "0001", "--project", str(project), "--url", db_url)
    assert result.exit_code == 0, result.output
    status = dbkit("status", "--json", "-p", str(project), "--url", db_url)
    assert json.loads(status.stdout)["current_revision"] == "0001"
    # the command's value wins over the group's
    wrong = dbkit(
        "--url",
        "postgresql://nobody@127.0.0.1:1/x",
        "status",
        "--url",
        db_url,
        "--project",
        str(project),
    )
    assert wrong.exit_code == 0, wrong.output


def test_a_driver_error_outside_any_handler_is_one_scrubbed_line(tmp_path, db_url):
    """A migration that kills its own session: the driver error surfaces without a
    traceback, on one line, and the password never shows."""
    kill = Spec("kill", "core", "SELECT pg_terminate_backend(pg_backend_pid());\n", "SELECT 1;\n")
    project = write_project(tmp_path, [ACCOUNTS, kill])
    result = dbkit("--project", str(project), "--url", db_url, "migrate")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "Traceback" not in result.output
    assert "terminat" in line or "connection" in line


def test_a_failed_statement_reports_what_psql_would(tmp_path, db_url):
    view = Spec(
        "view",
        "core",
        "CREATE VIEW account_emails AS SELECT id, email FROM accounts;\n",
        "DROP VIEW account_emails;\n",
    )
    drop = Spec(
        "drop_email",
        "core",
        "-- the view still needs the column\nALTER TABLE accounts ADD COLUMN nick text;\n\n"
        "ALTER TABLE accounts\n    DROP COLUMN email;\n",
        "ALTER TABLE accounts DROP COLUMN nick;\n",
    )
    project = write_project(tmp_path, [ACCOUNTS, view, drop])
    result = dbkit("--project", str(project), "--url", db_url, "migrate")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert line.startswith("migration 0003_drop_email failed at sql/0003_drop_email.sql:")
    assert "SQLSTATE 2BP01" in line
    assert "DETAIL: view account_emails depends on column email of table accounts" in line
    assert "HINT: Use DROP ... CASCADE to drop the dependent objects too" in line
    assert "statement at sql/0003_drop_email.sql:4: ALTER TABLE accounts DROP COLUMN email" in line
    assert "nothing of it was applied" in line
    with psycopg.connect(db_url) as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts'"
        ).fetchall()
    assert ("nick",) not in columns


def test_sigint_during_a_migration_is_one_line_and_exit_130(tmp_path, db_url):
    slow = Spec(
        "slow", "core", "CREATE TABLE slow (id int);\nSELECT pg_sleep(30);\n", "DROP TABLE slow;\n"
    )
    project = write_project(tmp_path, [slow])
    env = {**os.environ, **ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbkit", "--project", str(project), "--url", db_url, "migrate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).parent.parent,
    )
    deadline = time.monotonic() + 30
    with psycopg.connect(db_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' "
                "AND pid <> pg_backend_pid()"
            ).fetchone():
                break
            time.sleep(0.1)
        else:
            proc.kill()
            pytest.fail("the migration never started")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        lines = err.strip().splitlines()
        assert lines[-1].startswith("dbkit: error: interrupted"), err
        assert "Traceback" not in err and "Aborted!" not in err
        assert conn.execute("SELECT to_regclass('slow')").fetchone() == (None,)


def test_a_refused_connection_reads_as_sentences(tmp_path):
    project = write_project(tmp_path, BASIC)
    result = dbkit(
        "--project", str(project), "--url", "postgresql://app:pw@127.0.0.1:1/x", "status"
    )
    assert result.exit_code == 1
    line = one_error_line(result)
    assert line.startswith("cannot connect to postgresql://app:***@127.0.0.1:1/x: ")
    assert "Connection refused. Is the server running" in line
    assert "pw" not in line.replace("postgresql", "")


def test_no_command_shows_the_help_as_click_does():
    result = dbkit()
    assert result.exit_code == 2
    assert result.stderr.startswith("Usage: ")
    assert "dbkit: error" not in result.output
