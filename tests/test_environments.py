"""Named environments, the production guard (protected = true) and declared data removal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from projects import BASIC, Spec, write_project

from dbkit.cli import main
from dbkit.errors import ProjectError, UsageError
from dbkit.settings import resolve

ENVIRONMENTS = """\
lock_timeout = "7s"

[env.staging]
url = "${STAGING_DATABASE_URL}"
lock_timeout = "2s"

[env.prod]
url = "${PROD_DATABASE_URL}"
protected = true
"""


@pytest.fixture
def project(tmp_path):
    root = write_project(tmp_path / "proj", BASIC)
    (root / "dbkit.toml").write_text(ENVIRONMENTS)
    return root


def with_password(url: str, password: str = "s3cr3t-pw") -> str:
    """The test server trusts local connections: a password in the URL is never asked for,
    but it is in every text dbkit could print."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@", 1)


def dbkit(project: Path, *args: str, env: dict | None = None, input: str | None = None):
    environment = {
        "DBKIT_DATABASE_URL": "",
        "DATABASE_URL": "",
        "DBKIT_ENV": "",
        "NO_COLOR": "1",
        **(env or {}),
    }
    return CliRunner().invoke(
        main, ["--project", str(project), *args], env=environment, input=input
    )


def current(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None


# -- resolution -------------------------------------------------------------------------------


def test_environment_resolution_order(project):
    environ = {"STAGING_DATABASE_URL": "postgresql://app@staging/app", "DATABASE_URL": ""}
    staging = resolve(project, env="staging", environ=environ)
    assert staging.url == "postgresql://app@staging/app"
    assert staging.url_source == "[env.staging] url"
    assert staging.lock_timeout == "2s" and staging.env == "staging" and not staging.protected
    # DBKIT_ENV chooses it too; the environment's url wins over DATABASE_URL in the shell
    shell = {**environ, "DBKIT_ENV": "staging", "DATABASE_URL": "postgresql://dev@localhost/dev"}
    assert resolve(project, environ=shell).url == "postgresql://app@staging/app"
    # --url still wins over everything
    assert resolve(project, url="postgresql://x@y/z", env="staging", environ=environ).url == (
        "postgresql://x@y/z"
    )
    # without an environment: the top level (lock_timeout 7s) and DATABASE_URL
    plain = resolve(project, environ={"DATABASE_URL": "postgresql://dev@localhost/dev"})
    assert plain.env is None and plain.lock_timeout == "7s"
    assert plain.url == "postgresql://dev@localhost/dev"
    assert resolve(
        project, env="prod", environ={"PROD_DATABASE_URL": "postgresql://p@h/d"}
    ).protected


def test_environment_errors(project):
    with pytest.raises(UsageError, match=r"unknown environment 'qa'.*staging, prod|prod, staging"):
        resolve(project, env="qa", environ={})
    with pytest.raises(UsageError, match="needs the environment variable STAGING_DATABASE_URL"):
        resolve(project, env="staging", environ={})
    (project / "dbkit.toml").write_text('[env.staging]\nurl = "postgresql://a@b/c"\nport = 5\n')
    with pytest.raises(ProjectError, match=r"\[env.staging\]: unknown setting 'port'"):
        resolve(project, env="staging", environ={})
    (project / "dbkit.toml").write_text('[env.staging]\nprotected = "yes"\n')
    with pytest.raises(ProjectError, match="protected = 'yes' is a string, expected true or false"):
        resolve(project, env="staging", environ={})


def test_cli_env_option_and_dbkit_env(project, db_url):
    result = dbkit(project, "--env", "staging", "migrate", env={"STAGING_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert current(db_url) == "0003"
    status = dbkit(project, "status", env={"DBKIT_ENV": "staging", "STAGING_DATABASE_URL": db_url})
    assert status.exit_code == 0 and "up to date" in status.output
    missing = dbkit(project, "--env", "staging", "status")
    assert missing.exit_code == 2
    assert missing.output.startswith("dbkit: error: [env.staging] url needs the environment")
    unknown = dbkit(project, "--env", "qa", "status")
    assert unknown.exit_code == 2 and "unknown environment 'qa'" in unknown.output


# -- the production guard ------------------------------------------------------------------------


def test_protected_environment_refuses_destructive_commands_without_a_terminal(project, db_url):
    url = with_password(db_url)
    env = {"PROD_DATABASE_URL": url}
    # an ordinary migrate removes no data: it runs without asking
    assert dbkit(project, "--env", "prod", "migrate", env=env).exit_code == 0
    # nothing to do is not destructive: no confirmation needed
    result = dbkit(project, "--env", "prod", "repair", env=env)
    assert result.exit_code == 0 and "nothing to repair" in result.output
    result = dbkit(project, "--env", "prod", "rollback", "--to", "base", "--level", "data", env=env)
    assert result.exit_code == 0 and "3 skipped (no data-level file)" in result.output
    path = project / "sql" / "0003_orders_index.sql"
    path.write_text(path.read_text() + "\n-- edited\n")
    for args in (("repair",), ("rollback", "--steps", "1")):
        result = dbkit(project, "--env", "prod", *args, env=env)
        assert result.exit_code == 2, result.output
        line = result.output.strip()
        assert line.startswith(f"dbkit: error: {args[0]} on environment prod (protected)")
        assert "needs confirmation and there is no terminal to ask on; nothing was changed" in line
        assert "s3cr3t" not in result.output and "postgres:***@" in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert current(db_url) == "0003"
        if args == ("repair",):
            assert "changed:" in dbkit(project, "--url", db_url, "status").output
            assert dbkit(project, "--env", "prod", "repair", "--yes", env=env).exit_code == 0
    # the dry run changes nothing, so it needs no confirmation
    assert (
        dbkit(project, "--env", "prod", "rollback", "--steps", "1", "--dry-run", env=env).exit_code
        == 0
    )
    result = dbkit(project, "--env", "prod", "rollback", "--steps", "1", "--yes", env=env)
    assert result.exit_code == 0, result.output
    assert current(db_url) == "0002"


def test_protected_baseline_needs_yes(project, db_url):
    env = {"PROD_DATABASE_URL": db_url}
    result = dbkit(project, "--env", "prod", "baseline", "0001", "--force", env=env)
    assert result.exit_code == 2 and "baseline on environment prod (protected)" in result.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('alembic_version')").fetchone()[0] is None
    result = dbkit(project, "--env", "prod", "baseline", "0001", "--force", "-y", env=env)
    assert result.exit_code == 0, result.output
    assert current(db_url) == "0001"


def _run_on_a_terminal(project: Path, env: dict, args: list[str], answer: str):
    """Run dbkit with a pseudo-terminal as stdin/stdout/stderr; answer its prompt."""
    leader, follower = pty.openpty()
    environment = {
        **os.environ,
        "DBKIT_DATABASE_URL": "",
        "DATABASE_URL": "",
        "DBKIT_ENV": "",
        "NO_COLOR": "1",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "dbkit", "--project", str(project), *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=environment,
        close_fds=True,
    )
    os.close(follower)
    output = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"Proceed? [y/N]" in output:
                os.write(leader, answer.encode() + b"\n")
                answered = True
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    os.close(leader)
    return process.returncode, output.decode(errors="replace").replace("\r\n", "\n")


def test_protected_rollback_asks_on_a_terminal_naming_the_database_and_the_steps(project, db_url):
    url = with_password(db_url)
    env = {"PROD_DATABASE_URL": url}
    assert dbkit(project, "--env", "prod", "migrate", env=env).exit_code == 0
    code, output = _run_on_a_terminal(
        project, env, ["--env", "prod", "rollback", "--steps", "2"], "n"
    )
    assert code == 2, output
    assert "rollback on environment prod (protected), database postgresql://postgres:***@" in output
    assert "roll back 0003_orders_index with rollbacks/0003_orders_index.sql" in output
    assert "roll back 0002_orders with rollbacks/0002_orders.sql" in output
    assert "s3cr3t" not in output
    assert "was not confirmed; nothing was changed" in output
    assert current(db_url) == "0003"
    code, output = _run_on_a_terminal(
        project, env, ["--env", "prod", "rollback", "--steps", "2"], "y"
    )
    assert code == 0, output
    assert current(db_url) == "0001"


# -- declared data removal ------------------------------------------------------------------------

EVENTS = Spec(
    "events",
    "core",
    "CREATE TABLE old_events (id int PRIMARY KEY);\n"
    "INSERT INTO old_events SELECT g FROM generate_series(1, 50) AS g;\n"
    "CREATE TABLE keep_me (id int PRIMARY KEY);\n"
    "INSERT INTO keep_me SELECT g FROM generate_series(1, 5) AS g;\n",
    "DROP TABLE keep_me;\nDROP TABLE old_events;\n",
)


def removal_project(tmp_path: Path, options: str, extra_sql: str = "") -> Path:
    drop = Spec(
        "drop_old_events",
        "cleanup",
        "DROP TABLE old_events;\n" + extra_sql,
        "CREATE TABLE old_events (id int PRIMARY KEY);\n",
        options=options,
    )
    return write_project(tmp_path / "removal", [EVENTS, drop])


def test_declared_removal_goes_through_and_is_recorded(tmp_path, db_url):
    project = removal_project(tmp_path, 'removes_data = ["public.old_events"]\n')
    result = dbkit(project, "--url", db_url, "migrate")
    assert result.exit_code == 0, result.output
    history = dbkit(project, "--url", db_url, "history")
    [line] = [row for row in history.output.splitlines() if "0002" in row and " up " in row]
    assert "declared data removal: public.old_events" in line
    # its rollback cannot bring the rows back; the declaration covers that too
    result = dbkit(project, "--url", db_url, "rollback", "--phase", "cleanup")
    assert result.exit_code == 0, result.output
    assert current(db_url) == "0001"


def test_undeclared_removal_is_still_refused(tmp_path, db_url):
    project = removal_project(tmp_path, "")
    result = dbkit(project, "--url", db_url, "migrate")
    assert result.exit_code == 3, result.output
    assert "data_preserved_public_old_events" in result.output
    assert current(db_url) == "0001"


def test_a_declaration_lets_exactly_that_table_through(tmp_path, db_url):
    project = removal_project(
        tmp_path, 'removes_data = ["public.old_events"]\n', "DELETE FROM keep_me WHERE id > 3;\n"
    )
    result = dbkit(project, "--url", db_url, "migrate")
    assert result.exit_code == 3, result.output
    assert "data_preserved_public_keep_me" in result.output
    assert "data_preserved_public_old_events" not in result.output
    assert current(db_url) == "0001"


def test_protected_migrate_asks_only_for_a_declared_removal(tmp_path, db_url):
    project = removal_project(tmp_path, 'removes_data = ["public.old_events"]\n')
    (project / "dbkit.toml").write_text(ENVIRONMENTS)
    env = {"PROD_DATABASE_URL": db_url}
    result = dbkit(project, "--env", "prod", "migrate", "--to", "0001", env=env)
    assert result.exit_code == 0, result.output
    result = dbkit(project, "--env", "prod", "migrate", env=env)
    assert result.exit_code == 2
    assert "apply 0002_drop_old_events, which removes data from public.old_events" not in (
        result.output
    )  # the one-line refusal; the steps are shown on a terminal prompt
    assert "migrate on environment prod (protected)" in result.output
    assert current(db_url) == "0001"
    result = dbkit(project, "--env", "prod", "migrate", "--yes", env=env)
    assert result.exit_code == 0 and current(db_url) == "0002"


def test_removes_data_must_name_tables(tmp_path):
    project = removal_project(tmp_path, "removes_data = []\n")
    result = dbkit(project, "lint", "--only", "dbkit")
    assert result.exit_code == 1
    assert "`removes_data` must be a non-empty list of table names" in result.output


def test_protected_adopt_needs_yes(tmp_path, db_url, pg_server):
    from test_adopt import imported, migrate_with_tool, nothing_recorded

    project = imported("golang-migrate", tmp_path)
    (project / "dbkit.toml").write_text(ENVIRONMENTS)
    migrate_with_tool("golang-migrate", db_url, 2, pg_server, tmp_path)
    env = {"PROD_DATABASE_URL": db_url}
    result = dbkit(project, "--env", "prod", "adopt", env=env)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("dbkit: error: adopt on environment prod (protected)")
    assert nothing_recorded(db_url)
    result = dbkit(project, "--env", "prod", "adopt", "--yes", env=env)
    assert result.exit_code == 0, result.output
    assert current(db_url) == "0002"
