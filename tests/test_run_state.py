"""State a DBA can read after a run (issue 11): one history row per run for a migration left
applied, `status` naming it, and the edited-migration exit code explained on stderr. Against
real PostgreSQL."""

from __future__ import annotations

import json

import psycopg
import pytest
from click.testing import CliRunner
from projects import ACCOUNTS, ORDERS, Spec, write_project

from dbkit import api, settings
from dbkit.cli.app import main
from dbkit.errors import MigrationFailed, ValidationFailed

NO_ORDERS = "-- check: no_orders_yet\nSELECT id FROM orders;\n"
FILL = Spec(
    "fill",
    "core",
    "INSERT INTO accounts (email) VALUES ('a@x');\n"
    "INSERT INTO orders (account_id, total) SELECT id, 1 FROM accounts;\n",
    "DELETE FROM orders;\nDELETE FROM accounts;\n",
)
FILL_LATER = Spec(
    "fill_later",
    "core",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_o ON orders (account_id);\n"
    "INSERT INTO accounts (email) VALUES ('b@x');\n"
    "INSERT INTO orders (account_id, total) SELECT id, 2 FROM accounts;\n",
    "DELETE FROM orders;\nDELETE FROM accounts;\nDROP INDEX CONCURRENTLY IF EXISTS ix_o;\n",
    "transactional = False\n",
)


def resolve(project, url):
    return settings.resolve(project, url=url, environ={})


def query(url, sql, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def cli(project, url, *args):
    return CliRunner().invoke(main, ["--project", str(project), "--url", url, *args])


@pytest.mark.parametrize("spec", [FILL, FILL_LATER], ids=["transactional", "non-transactional"])
def test_a_migration_left_applied_writes_one_row_and_status_names_it(tmp_path, db_url, spec):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, spec])
    name = f"0003_{spec.slug}"
    (project / "validations" / f"{name}.post.sql").write_text(NO_ORDERS)
    s = resolve(project, db_url)
    with pytest.raises(ValidationFailed, match="LEFT APPLIED for inspection"):
        api.migrate(s, auto_rollback=False)
    rows = query(
        db_url, "SELECT outcome, message FROM dbkit.history WHERE revision = '0003' ORDER BY id"
    )
    assert len(rows) == 1, rows  # one row for the one run
    outcome, message = rows[0]
    assert outcome == "success"  # it is applied: alembic_version moved
    assert message.startswith("LEFT APPLIED after failing its checks: post-check of ")
    assert "no_orders_yet" in message

    status = api.status(s)
    assert status.pending == []
    assert [(x["name"], x["undo"]) for x in status.left_applied] == [
        (name, "dbkit rollback --to 0002")
    ]
    out = cli(project, db_url, "status")
    assert out.exit_code == 0
    assert "up to date" not in out.output
    assert f"left applied: {name} failed its checks" in out.output
    assert "`dbkit rollback --to 0002`" in out.output
    assert (
        json.loads(cli(project, db_url, "status", "--json").output)["left_applied"][0]["revision"]
        == "0003"
    )

    # `dbkit info` reads the same row
    info = json.loads(cli(project, db_url, "info", "--json").output)
    states = {m["revision"]: m["state"] for m in info["migrations"]}
    assert states["0003"] == "left applied"

    # rolled back: no longer named; applied again cleanly: not named either
    api.rollback(s, to="0002")
    assert api.status(s).left_applied == []
    (project / "validations" / f"{name}.post.sql").unlink()
    api.migrate(s)
    assert api.status(s).left_applied == []
    assert "up to date" in cli(project, db_url, "status").output


def test_status_with_an_edited_applied_migration_says_why_it_exits_4(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS])
    api.migrate(resolve(project, db_url))
    path = project / "sql" / "0002_orders.sql"
    path.write_text(path.read_text() + "-- edited\n")
    runner = CliRunner()
    out = runner.invoke(main, ["--project", str(project), "--url", db_url, "status"])
    assert out.exit_code == 4
    errors = [line for line in out.stderr.splitlines() if line.strip()]
    assert errors == [
        "dbkit: error: 0002_orders was edited after being applied (hint: restore the files, "
        "or accept the edit with `dbkit repair`)"
    ]


# -- a non-transactional migration's start is recorded before its first statement -----------


def _slow_index(seconds: float) -> Spec:
    return Spec(
        "orders_index",
        "perf",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_account ON orders (account_id);\n"
        f"SELECT pg_sleep({seconds});\n",
        "DROP INDEX CONCURRENTLY IF EXISTS ix_orders_account;\n",
        "transactional = False\n",
    )


def _kill_during_second_statement(project, db_url):
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "DBKIT_DATABASE_URL": "", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbkit", "--project", str(project), "--url", db_url, "migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = query(
                db_url,
                "SELECT statements_done FROM dbkit.in_progress WHERE revision = '0003'"
                if query(db_url, "SELECT to_regclass('dbkit.in_progress') IS NOT NULL")[0][0]
                else "SELECT NULL WHERE false",
            )
            if rows and rows[0][0] == 1:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the migration never reached its second statement")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # the server-side statement dies with its session (what a restart would do)
    query(
        db_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'dbkit' AND pid <> pg_backend_pid() "
        "AND datname = current_database()",
    )
    deadline = time.monotonic() + 10
    while query(
        db_url,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dbkit' "
        "AND datname = current_database() AND pid <> pg_backend_pid()",
    ) != [(0,)]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_killed_non_transactional_migration_is_named_by_status_and_rolled_back(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, _slow_index(60)])
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    _kill_during_second_statement(project, db_url)

    status = api.status(s)
    assert status.current_revision == "0002"
    [run] = status.interrupted
    assert run["message"] == (
        "0003_orders_index was interrupted after 1 of 2 statements: `dbkit migrate` finishes "
        "it, `dbkit rollback --to 0002` undoes it"
    )
    out = cli(project, db_url, "status")
    assert "interrupted: 0003_orders_index was interrupted after 1 of 2 statements" in out.output
    assert "up to date" not in out.output
    assert query(db_url, "SELECT to_regclass('ix_orders_account') IS NOT NULL") == [(True,)]

    result = api.rollback(s, to="0002")
    assert [(r.revision, r.outcome) for r in result.steps] == [("0003", "rolled back")]
    assert query(db_url, "SELECT to_regclass('ix_orders_account')") == [(None,)]
    assert api.status(s).interrupted == []
    assert query(db_url, "SELECT version_num FROM alembic_version") == [("0002",)]


def test_migrate_finishes_an_interrupted_non_transactional_migration(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, _slow_index(60)])
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    _kill_during_second_statement(project, db_url)
    (project / "sql" / "0003_orders_index.sql").write_text(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_account ON orders (account_id);\n"
        "SELECT pg_sleep(0);\n"
    )
    api.migrate(s)
    assert api.status(s).interrupted == []
    assert query(db_url, "SELECT version_num FROM alembic_version") == [("0003",)]
    assert query(db_url, "SELECT count(*) FROM dbkit.in_progress") == [(0,)]


# -- dbkit's own queries: bounded waits, plain errors ------------------------------------------


def _run_cli(project, url, *args, timeout=60):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DBKIT_DATABASE_URL": "", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "dbkit", "--project", str(project), "--url", url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("locked", ["alembic_version", "dbkit.history"])
def test_status_does_not_wait_for_ever_on_a_locked_registry_table(tmp_path, db_url, locked):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS])
    (project / "dbkit.toml").write_text('lock_timeout = "400ms"\n')
    api.migrate(resolve(project, db_url))
    holder = psycopg.connect(db_url)
    try:
        holder.execute(f"LOCK TABLE {locked} IN ACCESS EXCLUSIVE MODE")
        out = _run_cli(project, db_url, "status")
    finally:
        holder.close()
    assert out.returncode == 1
    [line] = [x for x in out.stderr.splitlines() if x.startswith("dbkit: error:")]
    assert "dbkit's own query waited longer than lock_timeout (400ms)" in line
    assert f"AccessExclusiveLock on {locked.removeprefix('public.')}" in line


def test_a_lock_on_an_unrelated_table_does_not_hang_the_phase_start(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS])
    (project / "dbkit.toml").write_text('lock_timeout = "400ms"\n')
    query(db_url, "CREATE TABLE bystander (id int); INSERT INTO bystander VALUES (1)")
    holder = psycopg.connect(db_url)
    try:
        holder.execute("LOCK TABLE bystander IN ACCESS EXCLUSIVE MODE")
        out = _run_cli(project, db_url, "migrate")
    finally:
        holder.close()
    assert out.returncode == 1
    assert "AccessExclusiveLock on bystander" in out.stderr
    assert query(db_url, "SELECT to_regclass('accounts')") == [(None,)]


def test_an_unprivileged_role_is_told_which_privilege_dbkit_needs(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS])
    api.migrate(resolve(project, db_url))
    role = f"dbkit_ro_{tmp_path.name[-8:].replace('-', '_')}"
    query(db_url, f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params = conninfo_to_dict(db_url)
        params.update(user=role, password="pw")
        url = make_conninfo(**params)
        out = cli(project, url, "status")
        assert out.exit_code == 1
        [line] = [x for x in out.output.splitlines() if x.startswith("dbkit: error:")]
        assert "permission denied for schema dbkit" in line
        assert "USAGE on schema dbkit and SELECT on its tables" in line
    finally:
        query(db_url, f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_losing_the_connection_during_a_phase_check_is_a_connection_failure(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS])
    (project / "validations" / "phases").mkdir()
    (project / "validations" / "phases" / "core.post.sql").write_text(
        "-- check: server_goes_away\nSELECT 1 WHERE pg_terminate_backend(pg_backend_pid());\n"
    )
    out = cli(project, db_url, "migrate")
    assert out.exit_code == 1  # not 3: no check found rows
    [line] = [x for x in out.output.splitlines() if x.startswith("dbkit: error:")]
    assert "lost the connection to the database during post-check of phase core" in line
    assert "error ignored" not in out.output


# -- a dry run labels what it cannot know ---------------------------------------------------

RENAME = Spec(
    "rename_index",
    "perf",
    "ALTER INDEX ix_orders_account RENAME TO ix_orders_by_account;\n",
    "ALTER INDEX ix_orders_by_account RENAME TO ix_orders_account;\n",
)
CIC_BASIC = Spec(
    "orders_index",
    "perf",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_account ON orders (account_id);\n",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_orders_account;\n",
    "transactional = False\n",
)


def test_a_dry_run_labels_a_step_after_a_skipped_one_instead_of_failing(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, CIC_BASIC, RENAME])
    s = resolve(project, db_url)
    result = api.migrate(s, dry_run=True)
    assert [(r.revision, r.outcome) for r in result.steps] == [
        ("0001", "applied"),
        ("0002", "applied"),
        ("0003", "skipped"),
        ("0004", "unknown"),
    ]
    [note] = result.steps[-1].notes
    assert note.startswith("a dry run cannot know: it follows 0003_orders_index, which a dry run")
    assert 'relation "ix_orders_account" does not exist' in note
    assert "could not know the outcome of 0004_rename_index" in result.message
    assert query(db_url, "SELECT to_regclass('accounts')") == [(None,)]  # nothing kept
    out = cli(project, db_url, "migrate", "--dry-run")
    assert out.exit_code == 0, out.output
    assert "unknown" in out.output and "dbkit: error" not in out.output
    # for real, the same plan applies
    api.migrate(s)
    assert query(db_url, "SELECT to_regclass('ix_orders_by_account') IS NOT NULL") == [(True,)]


def test_rollback_dry_run_labels_what_depends_on_a_skipped_step(tmp_path, db_url):
    orders = Spec(
        "orders",
        "core",
        ORDERS.up,
        "DO $$ BEGIN IF to_regclass('ix_orders_account') IS NOT NULL THEN "
        "RAISE EXCEPTION 'drop ix_orders_account first'; END IF; END $$;\nDROP TABLE orders;\n",
    )
    project = write_project(tmp_path / "p", [ACCOUNTS, orders, CIC_BASIC])
    s = resolve(project, db_url)
    api.migrate(s)
    result = api.rollback(s, to="base", dry_run=True)
    assert [(r.revision, r.outcome) for r in result.steps] == [
        ("0003", "skipped"),
        ("0002", "unknown"),
        ("0001", "unknown"),  # orders is still there in the simulation: it depends too
    ]
    assert "drop ix_orders_account first" in result.steps[1].notes[0]
    assert query(db_url, "SELECT version_num FROM alembic_version") == [("0003",)]
    # for real, the rollback goes through: the index is dropped before 0002's check
    api.rollback(s, to="base")
    assert query(db_url, "SELECT count(*) FROM alembic_version") == [(0,)]


def test_a_dry_run_failure_before_any_skipped_step_is_still_a_failure(tmp_path, db_url):
    broken = Spec("broken", "core", "SELECT 1/0;\n", "SELECT 1;\n")
    project = write_project(tmp_path / "p", [ACCOUNTS, broken, CIC_BASIC])
    with pytest.raises(MigrationFailed, match="division by zero"):
        api.migrate(resolve(project, db_url), dry_run=True)


# -- read-only commands on a plan whose pending migration is incomplete ---------------------


def test_status_shows_the_database_when_a_pending_migration_lacks_its_rollback(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, CIC_BASIC])
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    (project / "rollbacks" / "0003_orders_index.sql").unlink()
    status = api.status(s)
    assert status.current_revision == "0002"
    assert [m.revision for m in status.pending] == ["0003"]
    assert status.plan_problems == [
        "rollbacks/0003_orders_index.sql: rollback file missing for revision 0003"
    ]
    out = cli(project, db_url, "status")
    assert out.exit_code == 0, out.output
    assert "current:   0002" in out.output
    assert "plan:      rollbacks/0003_orders_index.sql: rollback file missing" in out.output
    assert "heads:" not in out.output
    info = cli(project, db_url, "info", "--json")
    assert info.exit_code == 0, info.output
    # migrate still refuses, before connecting
    refused = cli(project, db_url, "migrate")
    assert refused.exit_code == 1
    assert "rollback file missing for revision 0003" in refused.output


def test_new_where_it_cannot_write_is_one_error_line_and_writes_nothing(tmp_path):
    """Any OSError (permission denied for a normal user; here, as root, a file where a
    directory must be) ends in one line, and the files already written are removed."""
    from dbkit.plan.scaffold import init_project

    project = tmp_path / "p"
    init_project(project)
    __import__("shutil").rmtree(project / "validations")
    (project / "validations").write_text("not a directory\n")
    out = CliRunner().invoke(main, ["--project", str(project), "new", "x", "--phase", "core"])
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1, out.output
    assert lines[0].startswith("dbkit: error: cannot write ")
    assert "; nothing was written" in lines[0]
    assert out.exception is None or isinstance(out.exception, SystemExit)
    assert list((project / "sql").glob("*.sql")) == []
    assert list((project / "rollbacks").glob("*.sql")) == []
    assert list((project / "migrations" / "versions").glob("0*.py")) == []


def test_a_failed_pipeline_prints_only_the_error_line(tmp_path, db_url):
    """The bookkeeping travels in a pipeline; its failure must not add psycopg's
    'error ignored terminating <psycopg.Pipeline ...>' warning before dbkit's own line."""
    moved = Spec(
        "moved",
        "core",
        "CREATE TABLE kept_if_wrong (id int);\nUPDATE alembic_version SET version_num = '0999';\n",
        "DROP TABLE kept_if_wrong;\n",
    )
    project = write_project(tmp_path / "p", [ACCOUNTS, moved])
    out = _run_cli(project, db_url, "migrate")
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("dbkit: error: alembic_version was not at 0001")
    assert not [line for line in lines if "error ignored" in line or "Pipeline" in line], lines


# -- lock retries: the line, once, only the contended relation, total and waiting time ------


def test_lock_retries_name_the_statement_once_and_say_how_long_was_spent_waiting(tmp_path, db_url):
    import threading

    alter = Spec(
        "note",
        "core",
        "CREATE TABLE notes (id int);\n\nALTER TABLE orders ADD COLUMN note text;\n"
        "SELECT count(*) FROM accounts;\n",
        "ALTER TABLE orders DROP COLUMN note;\nDROP TABLE notes;\n",
    )
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, alter])
    (project / "dbkit.toml").write_text(
        'lock_timeout = "300ms"\nlock_retries = 5\nlock_retry_delay = 0.3\n'
    )
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    holder = psycopg.connect(db_url)
    holder.execute("SELECT count(*) FROM orders")  # ACCESS SHARE on orders, in a transaction
    holder.execute("SELECT count(*) FROM accounts")  # and on accounts, which blocks nothing
    release = threading.Timer(1.5, holder.rollback)
    release.start()
    try:
        result = api.migrate(s)
    finally:
        release.join()
        holder.close()
    notes = result.steps[-1].notes
    named = [n for n in notes if "sql/0003_note.sql:3 " in n]
    assert len(named) == 1, notes  # the line, once
    assert "ALTER TABLE orders ADD COLUMN note text" in named[0]
    assert "AccessShareLock on orders" in named[0]
    assert "accounts" not in named[0]
    assert "lock_timeout (300ms) in sql/0003_note.sql; retry 1/5" in notes[0]
    assert notes[-1].startswith("took ") and "of it waiting for locks" in notes[-1]
    waited = float(notes[-1].split(", ")[1].split("s of it")[0])
    assert waited >= 0.9
    assert result.steps[-1].duration_ms / 1000 >= waited - 0.05  # the note rounds to 0.1 s
    assert query(db_url, "SELECT count(*) FROM notes") == [(0,)]


# -- extensions the server lacks are named before anything runs -----------------------------


def test_an_extension_the_server_lacks_is_refused_before_anything_runs(tmp_path, db_url):
    wants = Spec(
        "crypto",
        "core",
        "CREATE TABLE secrets (id int);\n\nCREATE EXTENSION IF NOT EXISTS dbkit_no_such_ext;\n",
        "DROP EXTENSION IF EXISTS dbkit_no_such_ext;\nDROP TABLE secrets;\n",
    )
    project = write_project(tmp_path / "p", [ACCOUNTS, wants])
    out = cli(project, db_url, "migrate")
    assert out.exit_code == 1
    [line] = [x for x in out.output.splitlines() if x.startswith("dbkit: error:")]
    assert "lacks the extension dbkit_no_such_ext (created at sql/0002_crypto.sql:3)" in line
    assert "nothing was run" in line
    assert query(db_url, "SELECT to_regclass('accounts')") == [(None,)]  # not even 0001

    verified = cli(project, db_url, "verify")
    assert verified.exit_code == 1
    assert "lacks the extension dbkit_no_such_ext" in verified.output
    assert "`dbkit verify --url URL`" in verified.output


def test_pgcrypto_on_a_server_without_it_is_named(tmp_path, db_url):
    if query(db_url, "SELECT count(*) FROM pg_available_extensions WHERE name = 'pgcrypto'")[0][0]:
        pytest.skip("this server has pgcrypto")
    wants = Spec("crypto", "core", "CREATE EXTENSION pgcrypto;\n", "DROP EXTENSION pgcrypto;\n")
    project = write_project(tmp_path / "p", [wants])
    out = cli(project, db_url, "migrate")
    assert out.exit_code == 1
    assert "lacks the extension pgcrypto (created at sql/0001_crypto.sql:1)" in out.output


def test_a_phase_left_applied_writes_one_row_naming_its_migrations(tmp_path, db_url):
    """A phase post-check failing under --no-auto-rollback: the migrations committed before the
    phase's checks ran; one more row for the run names every one of them."""
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, FILL])
    (project / "validations" / "phases").mkdir()
    (project / "validations" / "phases" / "core.post.sql").write_text(NO_ORDERS)
    s = resolve(project, db_url)
    with pytest.raises(ValidationFailed, match="phase core was LEFT APPLIED for inspection"):
        api.migrate(s, auto_rollback=False)
    rows = query(db_url, "SELECT revision, outcome, message FROM dbkit.history ORDER BY id")
    assert [r[:2] for r in rows] == [(f"000{n}", "success") for n in (1, 2, 3, 3)]
    marked = [r for r in rows if (r[2] or "").startswith("LEFT APPLIED")]
    assert len(marked) == 1  # one row for the run
    assert marked[0][2].startswith(
        "LEFT APPLIED after failing its checks: phase core (0001, 0002, 0003 applied by this run)"
    )
    assert "no_orders_yet" in marked[0][2]

    names = ["0001_accounts", "0002_orders", "0003_fill"]
    assert [x["name"] for x in api.status(s).left_applied] == names
    out = cli(project, db_url, "status")
    assert out.exit_code == 0, out.output
    assert "up to date" not in out.output
    for name in names:
        assert f"left applied: {name} failed its checks" in out.output
    info = json.loads(cli(project, db_url, "info", "--json").output)
    assert [m["state"] for m in info["migrations"]] == ["left applied"] * 3
    assert info["migrations"][2]["message"] == marked[0][2]
    # timed from the run that applied it, not from the marker row
    own = query(db_url, "SELECT duration_ms FROM dbkit.history WHERE revision = '0003' ORDER BY id")
    assert info["migrations"][2]["duration_ms"] == float(own[0][0])

    # rolled back to 0002: 0003 is gone, the two before it are still the failed run's
    api.rollback(s, to="0002")
    assert [x["name"] for x in api.status(s).left_applied] == names[:2]
    # accepted on purpose: `dbkit repair` writes a row of its own for each
    repaired = cli(project, db_url, "repair")
    assert repaired.exit_code == 0, repaired.output
    assert "accepted" in repaired.output
    assert api.status(s).left_applied == []
    assert "left applied" not in cli(project, db_url, "status").output
    assert "nothing to repair" in cli(project, db_url, "repair").output


def test_a_phase_left_applied_is_cleared_by_rolling_the_phase_back(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, FILL])
    (project / "validations" / "phases").mkdir()
    (project / "validations" / "phases" / "core.post.sql").write_text(NO_ORDERS)
    s = resolve(project, db_url)
    assert cli(project, db_url, "migrate", "--no-auto-rollback").exit_code == 3
    assert len(api.status(s).left_applied) == 3
    rolled = cli(project, db_url, "rollback", "--phase", "core")
    assert rolled.exit_code == 0, rolled.output
    assert api.status(s).left_applied == []
    (project / "validations" / "phases" / "core.post.sql").write_text("")
    assert cli(project, db_url, "migrate").exit_code == 0
    assert api.status(s).left_applied == []
