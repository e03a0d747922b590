"""The engine through the library API, against real PostgreSQL, on small fixture projects."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from projects import ACCOUNTS, BASIC, ORDERS, ORDERS_INDEX, Spec, write_project

from dbkit import api, settings
from dbkit.engine import database
from dbkit.errors import (
    ChecksumMismatch,
    DatabaseStateError,
    ExitCode,
    LockNotAcquired,
    MigrationFailed,
    PlanError,
    RevisionNotFound,
    UsageError,
)
from dbkit.plan.graph import load_plan

UNREACHABLE = "postgresql://nobody:secret@127.0.0.1:1/nowhere"


def resolve(project, url, **config):
    if config:
        lines = "\n".join(f"{k} = {v!r}" for k, v in config.items())
        (project / "dbkit.toml").write_text(lines + "\n")
    return settings.resolve(project, url=url, environ={})


def query(url, sql, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def tables(url):
    return {
        r[0]
        for r in query(
            url,
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE nspname = 'public' AND relkind IN ('r', 'i', 'v')",
        )
    }


def version(url):
    return [r[0] for r in query(url, "SELECT version_num FROM alembic_version")]


def history(url):
    return query(url, "SELECT revision, direction, outcome FROM dbkit.history ORDER BY id")


@pytest.fixture
def project(tmp_path):
    return write_project(tmp_path / "proj", BASIC)


@pytest.mark.smoke
def test_migrate_to_head_then_rollback_to_base_then_again(project, db_url):
    s = resolve(project, db_url)
    result = api.migrate(s)
    assert [step.revision for step in result.steps] == ["0001", "0002", "0003"]
    assert {"accounts", "orders", "ix_orders_account"} <= tables(db_url)
    assert version(db_url) == ["0003"]
    assert history(db_url) == [(r, "up", "success") for r in ("0001", "0002", "0003")]

    down = api.rollback(s, to="base")
    assert [step.revision for step in down.steps] == ["0003", "0002", "0001"]
    assert tables(db_url) == {"alembic_version", "alembic_version_pkc"}
    assert version(db_url) == []
    assert history(db_url)[3:] == [(r, "down", "success") for r in ("0003", "0002", "0001")]

    again = api.migrate(s)
    assert len(again.steps) == 3
    assert version(db_url) == ["0003"]


def test_migrate_to_revision_and_by_phase(project, db_url):
    s = resolve(project, db_url)
    assert [x.revision for x in api.migrate(s, to="0001").steps] == ["0001"]
    assert version(db_url) == ["0001"]
    assert [x.revision for x in api.migrate(s, phase="core").steps] == ["0002"]
    assert version(db_url) == ["0002"]
    assert [x.revision for x in api.migrate(s).steps] == ["0003"]
    result = api.migrate(s)
    assert result.steps == [] and "nothing to do" in result.message


def test_migrate_refuses_a_target_behind_the_database(project, db_url):
    s = resolve(project, db_url)
    api.migrate(s)
    with pytest.raises(UsageError, match="migrate never goes down"):
        api.migrate(s, to="0001")


def test_rollback_by_steps_revision_and_phase(project, db_url):
    s = resolve(project, db_url)
    api.migrate(s)
    assert [x.revision for x in api.rollback(s, steps=1).steps] == ["0003"]
    assert version(db_url) == ["0002"]
    assert "ix_orders_account" not in tables(db_url)
    api.migrate(s)
    assert [x.revision for x in api.rollback(s, to="0001").steps] == ["0003", "0002"]
    assert version(db_url) == ["0001"]
    api.migrate(s)
    # --phase core returns to the state before core, rolling back the later phase first.
    assert [x.revision for x in api.rollback(s, phase="core").steps] == ["0003", "0002", "0001"]
    assert version(db_url) == []
    directions = [row[1] for row in history(db_url)]
    assert directions.count("up") == 6 and directions.count("down") == 6


def test_rollback_requires_exactly_one_target(project, db_url):
    s = resolve(project, db_url)
    with pytest.raises(UsageError, match="exactly one explicit target"):
        api.rollback(s)
    with pytest.raises(UsageError, match="--to and --steps"):
        api.rollback(s, to="base", steps=1)
    api.migrate(s, to="0001")
    with pytest.raises(UsageError, match="goes past base"):
        api.rollback(s, steps=2)
    with pytest.raises(UsageError, match="is not applied"):
        api.rollback(s, to="0002")
    with pytest.raises(RevisionNotFound, match="unknown phase 'nope'"):
        api.rollback(s, phase="nope")
    assert version(db_url) == ["0001"]


def test_sql_error_mid_file_leaves_nothing_and_names_file_and_line(tmp_path, db_url):
    broken = Spec(
        "broken",
        "core",
        "CREATE TABLE partial_one (id int);\n\n"
        "INSERT INTO partial_one\nSELECT id FROM missing_table;\n",
        "DROP TABLE partial_one;\n",
    )
    project = write_project(tmp_path / "p", [ACCOUNTS, broken])
    s = resolve(project, db_url)
    with pytest.raises(MigrationFailed) as caught:
        api.migrate(s)
    message = str(caught.value)
    assert "sql/0002_broken.sql:4" in message
    assert 'relation "missing_table" does not exist' in message
    assert "nothing of it was applied" in message
    assert [step.revision for step in caught.value.completed] == ["0001"]
    assert "partial_one" not in tables(db_url)
    assert version(db_url) == ["0001"]
    assert history(db_url)[-1] == ("0002", "up", "failed")


def test_runtime_error_inside_plpgsql_block_is_located(tmp_path, db_url):
    failing = Spec(
        "raises",
        "core",
        "CREATE TABLE t1 (id int);\nDO $$\nBEGIN\n  RAISE EXCEPTION 'boom';\nEND\n$$;\n",
        "DROP TABLE t1;\n",
    )
    project = write_project(tmp_path / "p", [failing])
    with pytest.raises(MigrationFailed, match=r"sql/0001_raises.sql:2: boom"):
        api.migrate(resolve(project, db_url))
    assert "t1" not in tables(db_url)


def test_missing_rollback_is_refused_before_connecting(project):
    (project / "rollbacks" / "0002_orders.sql").unlink()
    with pytest.raises(PlanError, match="rollbacks/0002_orders.sql: rollback file missing"):
        api.migrate(resolve(project, UNREACHABLE))


@pytest.mark.parametrize(
    "breakage, expected",
    [
        ("orphan", "sql/0009_stray.sql: orphan file"),
        ("two_heads", "two heads: revisions 0002, 0004 all follow 0001"),
        ("duplicate", "duplicate revision number 0002"),
        ("phase_order", "phase 'core' resumes at revision 0004 after phase 'perf'"),
    ],
)
def test_broken_plans_are_refused_before_connecting(project, breakage, expected):
    versions = project / "migrations" / "versions"
    if breakage == "orphan":
        (project / "sql" / "0009_stray.sql").write_text("SELECT 1;\n")
    elif breakage == "two_heads":
        text = (versions / "0002_orders.py").read_text()
        (versions / "0004_other.py").write_text(text.replace('"0002"', '"0004"'))
        for folder in ("sql", "rollbacks"):
            (project / folder / "0004_other.sql").write_text("SELECT 1;\n")
    elif breakage == "duplicate":
        text = (versions / "0002_orders.py").read_text()
        (versions / "0002_again.py").write_text(text)
        for folder in ("sql", "rollbacks"):
            (project / folder / "0002_again.sql").write_text("SELECT 1;\n")
    elif breakage == "phase_order":
        (versions / "0004_more.py").write_text(
            'from dbkit.revision import sql_pair\nrevision = "0004"\ndown_revision = "0003"\n'
            'phase = "core"\nupgrade, downgrade = sql_pair(__file__)\n'
        )
        for folder in ("sql", "rollbacks"):
            (project / folder / "0004_more.sql").write_text("SELECT 1;\n")
    with pytest.raises(PlanError) as caught:
        api.migrate(resolve(project, UNREACHABLE))
    assert expected in str(caught.value)


def test_edited_applied_migration_is_refused_until_repaired(project, db_url):
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    path = project / "sql" / "0001_accounts.sql"
    path.write_text(path.read_text() + "\n-- reviewed\n")
    with pytest.raises(ChecksumMismatch, match="0001_accounts") as caught:
        api.migrate(s)
    assert caught.value.exit_code == ExitCode.CHECKSUM_MISMATCH
    assert version(db_url) == ["0002"]
    status = api.status(s)
    assert [m.revision for m in status.changed] == ["0001"]
    assert status.exit_code == ExitCode.CHECKSUM_MISMATCH

    repaired = api.repair(s)
    assert repaired.revisions == ["0001"]
    assert history(db_url)[-1] == ("0001", "repair", "success")
    assert api.status(s).changed == []
    assert [x.revision for x in api.migrate(s).steps] == ["0003"]
    assert api.repair(s).revisions == []


def test_status_and_history_write_nothing(project, db_url):
    s = resolve(project, db_url)
    status = api.status(s)
    assert status.current_revision is None
    assert [m.revision for m in status.pending] == ["0001", "0002", "0003"]
    assert api.history(s) == []
    assert query(db_url, "SELECT to_regclass('dbkit.history'), to_regclass('alembic_version')") == [
        (None, None)
    ]
    api.migrate(s, to="0001")
    status = api.status(s)
    assert (status.current_revision, status.current_phase, status.applied) == ("0001", "core", 1)
    rows = api.history(s)
    assert [(r.revision, r.direction, r.outcome) for r in rows] == [("0001", "up", "success")]
    assert rows[0].checksum == load_plan(project).get("0001").checksum


def test_dry_run_changes_nothing_and_skips_non_transactional(project, db_url):
    s = resolve(project, db_url)
    result = api.migrate(s, dry_run=True)
    assert [(x.revision, x.outcome) for x in result.steps] == [
        ("0001", "applied"),
        ("0002", "applied"),
        ("0003", "skipped"),
    ]
    assert "runs outside a transaction" in result.steps[2].notes[0]
    assert query(db_url, "SELECT to_regclass('dbkit.history'), to_regclass('accounts')") == [
        (None, None)
    ]
    api.migrate(s)
    api.rollback(s, to="base", dry_run=True)
    assert version(db_url) == ["0003"]
    assert {"accounts", "orders"} <= tables(db_url)


def test_baseline_adopts_an_existing_schema_without_running_sql(project, db_url):
    query(db_url, ACCOUNTS.up)
    query(db_url, ORDERS.up)
    s = resolve(project, db_url)
    result = api.baseline(s, "0002")
    assert result.revisions == ["0001", "0002"]
    assert version(db_url) == ["0002"]
    assert [x.revision for x in api.migrate(s).steps] == ["0003"]
    with pytest.raises(UsageError, match="already at revision 0003"):
        api.baseline(s, "0001")


def test_second_run_waits_for_the_lock_then_gives_up(project, db_url):
    s = resolve(project, db_url, lock_wait=0.5)
    holder = psycopg.connect(db_url, autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (database.LOCK_KEY,))
        with pytest.raises(LockNotAcquired, match="holds the migration lock") as caught:
            api.migrate(s)
        assert caught.value.exit_code == ExitCode.LOCK_NOT_ACQUIRED
        assert f"pid {holder.info.backend_pid}" in str(caught.value)
    finally:
        holder.close()
    assert query(db_url, "SELECT to_regclass('accounts')") == [(None,)]
    assert len(api.migrate(s).steps) == 3


def test_concurrent_index_build_does_not_deadlock_with_a_waiting_run(tmp_path, db_url):
    """A run waiting for the lock must hold no snapshot, or CREATE INDEX CONCURRENTLY in the
    run holding it would wait for the waiter (statement_timeout turns a hang into a failure)."""
    slow = Spec("slow", "core", "SELECT pg_sleep(1.5);\n", "SELECT 1;\n")
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, slow, ORDERS_INDEX])
    first = resolve(project, db_url, statement_timeout="20s", lock_wait=60)
    outcome: dict[str, object] = {}

    def waiter():
        time.sleep(0.5)
        try:
            outcome["second"] = api.migrate(first)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion below
            outcome["second"] = exc

    thread = threading.Thread(target=waiter)
    thread.start()
    result = api.migrate(first)
    thread.join(timeout=60)
    assert [x.revision for x in result.steps] == ["0001", "0002", "0003", "0004"]
    second = outcome["second"]
    assert not isinstance(second, Exception), second
    assert second.steps == []
    valid = query(
        db_url,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_orders_account'::regclass",
    )
    assert valid == [(True,)]


def test_failed_concurrent_index_leaves_no_invalid_index(tmp_path, db_url):
    unique = Spec(
        "unique_email",
        "perf",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ux_accounts_email ON accounts (email);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS ux_accounts_email;\n",
        "transactional = False\n",
    )
    project = write_project(tmp_path / "p", [ACCOUNTS, unique])
    s = resolve(project, db_url)
    api.migrate(s, to="0001")
    query(db_url, "INSERT INTO accounts (email) VALUES ('a@x'), ('a@x')")
    with pytest.raises(MigrationFailed) as caught:
        api.migrate(s)
    message = str(caught.value)
    assert "sql/0002_unique_email.sql:1" in message
    assert "dropped invalid index ux_accounts_email" in message
    assert query(db_url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == [(0,)]
    assert version(db_url) == ["0001"]
    # Fix the data and retry: the migration now completes.
    query(db_url, "DELETE FROM accounts WHERE id = (SELECT max(id) FROM accounts)")
    assert [x.revision for x in api.migrate(s).steps] == ["0002"]


def test_retry_drops_an_invalid_index_left_by_an_earlier_crash(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, ORDERS_INDEX])
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    # Simulate a build that died half-way: an invalid index under the migration's name.
    query(db_url, "CREATE INDEX ix_orders_account ON orders (account_id)")
    query(
        db_url,
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'ix_orders_account'::regclass",
    )
    result = api.migrate(s)
    assert any("dropped invalid index ix_orders_account" in n for n in result.steps[0].notes)
    valid = query(
        db_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_orders_account'::regclass"
    )
    assert valid == [(True,)]


def test_failed_non_transactional_migration_is_undone(tmp_path, db_url):
    two_step = Spec(
        "two_indexes",
        "perf",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_one ON accounts (email);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_two ON no_such_table (x);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS ix_two;\nDROP INDEX CONCURRENTLY IF EXISTS ix_one;\n",
        "transactional = False\n",
    )
    project = write_project(tmp_path / "p", [ACCOUNTS, two_step])
    with pytest.raises(MigrationFailed) as caught:
        api.migrate(resolve(project, db_url))
    message = str(caught.value)
    assert "sql/0002_two_indexes.sql:2" in message
    assert "1 of 2 statements had run, and were undone" in message
    assert caught.value.done == [
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_one ON accounts (email)"
    ]
    assert "ix_one" not in tables(db_url)
    assert version(db_url) == ["0001"]


def test_lock_timeout_is_retried_then_fails_naming_the_lock(project, db_url):
    s = resolve(project, db_url, lock_timeout="100ms", lock_retries=2, lock_retry_delay=0.05)
    api.migrate(s, to="0001")
    blocker = psycopg.connect(db_url)
    blocker_pid = blocker.info.backend_pid
    notes: list[str] = []

    class Collect(api.Reporter):
        def note(self, text):
            notes.append(text)

    try:
        blocker.execute("LOCK TABLE accounts IN SHARE MODE")
        with pytest.raises(MigrationFailed) as caught:
            api.migrate(s, reporter=Collect())
    finally:
        blocker.close()
    message = str(caught.value)
    assert "sql/0002_orders.sql:1" in message
    assert "lock_timeout (100ms) waiting for a lock on" in message and "accounts" in message
    assert f"pid {blocker_pid} holding ShareLock on accounts" in message
    assert [n.split("; ")[-1] for n in notes] == [
        "retry 1/2 in 0.05s, statement by statement to name the one that waits",
        "retry 2/2 in 0.1s",
    ]
    assert "at sql/0002_orders.sql:1 CREATE TABLE orders" in notes[1]  # the line, once
    assert f"pid {blocker_pid} holding ShareLock on accounts" in notes[1]
    assert version(db_url) == ["0001"]
    assert [x.revision for x in api.migrate(s).steps] == ["0002", "0003"]


def test_lock_timeout_retry_succeeds_when_the_blocker_goes_away(project, db_url):
    s = resolve(project, db_url, lock_timeout="200ms", lock_retries=5, lock_retry_delay=0.2)
    api.migrate(s, to="0001")
    blocker = psycopg.connect(db_url)
    blocker.execute("LOCK TABLE accounts IN SHARE MODE")
    timer = threading.Timer(0.5, blocker.close)
    timer.start()
    try:
        result = api.migrate(s, to="0002")
    finally:
        timer.join()
    assert result.steps[0].notes and "retry 1/5" in result.steps[0].notes[0]
    assert version(db_url) == ["0002"]


def test_unknown_revision_in_database_is_reported(project, db_url):
    s = resolve(project, db_url)
    api.migrate(s, to="0001")
    query(db_url, "UPDATE alembic_version SET version_num = '0999'")
    with pytest.raises(DatabaseStateError, match="revision 0999, which is not in"):
        api.migrate(s)


def test_a_version_moved_by_someone_else_keeps_nothing_of_the_migration(tmp_path, db_url):
    meddling = Spec(
        "meddling",
        "core",
        "CREATE TABLE kept_if_wrong (id int);\nUPDATE alembic_version SET version_num = '0999';\n",
        "DROP TABLE kept_if_wrong;\n",
    )
    project = write_project(tmp_path / "p", [ACCOUNTS, meddling])
    s = resolve(project, db_url)
    api.migrate(s, to="0001")
    with pytest.raises(DatabaseStateError, match="alembic_version was not at 0001"):
        api.migrate(s)
    assert version(db_url) == ["0001"]
    assert "kept_if_wrong" not in tables(db_url)


def test_an_error_raised_at_commit_is_reported_and_keeps_nothing(tmp_path, db_url):
    deferred = Spec(
        "deferred",
        "core",
        "CREATE TABLE parent (id int CONSTRAINT pk_parent PRIMARY KEY);\n"
        "CREATE TABLE child (\n"
        "    parent_id int CONSTRAINT fk_child_parent REFERENCES parent (id)\n"
        "        DEFERRABLE INITIALLY DEFERRED\n);\n"
        "INSERT INTO child VALUES (42);\n",
        "DROP TABLE child;\nDROP TABLE parent;\n",
    )
    project = write_project(tmp_path / "p", [deferred])
    with pytest.raises(MigrationFailed, match="fk_child_parent") as caught:
        api.migrate(resolve(project, db_url))
    assert "sql/0001_deferred.sql" in str(caught.value)
    assert query(db_url, "SELECT to_regclass('alembic_version'), to_regclass('parent')") == [
        ("alembic_version", None)
    ]
    assert version(db_url) == []
