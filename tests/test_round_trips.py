"""Round trips per migration, counted in libpq's own protocol trace (the messages the client
sends): a transactional migration without checks is one query (BEGIN, limits, the file, the
session reset, the history row with the version move, COMMIT); a check is two (its savepoint,
limits and query; the rollback to the savepoint), and after a post-check the history row and
COMMIT still travel together."""

from __future__ import annotations

import psycopg
import pytest
from projects import ACCOUNTS, Spec, write_project

from dbkit.engine import database, preserve, registry
from dbkit.engine.runner import Runner
from dbkit.engine.steps import StepChecks, steps_up
from dbkit.errors import MigrationFailed, ValidationFailed
from dbkit.plan.checks import CheckBook
from dbkit.plan.graph import load_plan
from dbkit.settings import resolve

NOTES = Spec(
    "notes",
    "core",
    "CREATE TABLE notes (id int, body text DEFAULT '50% done; ''quoted''');\n"
    "INSERT INTO notes VALUES (1);\n",
    "DROP TABLE notes;\n",
)


def _traced(conn: psycopg.Connection, path, run) -> list[str]:
    """The frontend messages (Query, Parse, Bind, Sync, ...) sent while ``run()`` runs."""
    with open(path, "w") as out:
        conn.pgconn.trace(out.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            run()
        finally:
            conn.pgconn.untrace()
    sent = []
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) > 2 and parts[0] == "F":
            sent.append(parts[2].split(" ", 1)[0])
    return sent


def test_a_migration_without_checks_is_one_query(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, NOTES])
    settings = resolve(project, url=db_url, environ={})
    plan = load_plan(project)
    conn = database.connect(db_url, settings)
    try:
        registry.ensure_registry(conn)
        runner = Runner(conn, settings)
        results: list = []
        sent = _traced(
            conn, tmp_path / "trace", lambda: runner.run(steps_up(plan.migrations), results)
        )
        assert sent == ["Query", "Query"], sent  # one message per migration, nothing else
        assert [r.outcome for r in results] == ["applied", "applied"]
        rows = conn.execute(
            "SELECT revision, direction, outcome, checksum, duration_ms FROM dbkit.history"
            " ORDER BY id"
        ).fetchall()
        assert [r[:3] for r in rows] == [("0001", "up", "success"), ("0002", "up", "success")]
        assert [r[3] for r in rows] == [m.checksum for m in plan.migrations]
        assert all(r[4] is not None and r[4] >= 0 for r in rows)  # the server's own duration
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert conn.execute("SELECT body FROM notes").fetchall() == [("50% done; 'quoted'",)]
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        conn.close()


def _round_trips(sent: list[str]) -> int:
    return sent.count("Query") + sent.count("Sync")  # a pipeline ends with one Sync


def test_a_migration_with_a_post_check_judges_before_it_commits(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, NOTES])
    (project / "validations" / "0002_notes.post.sql").write_text(
        "-- check: no_empty_notes\nSELECT id FROM notes WHERE body IS NULL;\n"
    )
    (project / "dbkit.toml").write_text('check_timeout = "7s"\n')
    settings = resolve(project, url=db_url, environ={})
    plan = load_plan(project)
    book = CheckBook(plan)
    conn = database.connect(db_url, settings)
    try:
        registry.ensure_registry(conn)
        runner = Runner(conn, settings)
        first, second = steps_up(plan.migrations)
        runner.run_step(first, [])
        before = conn.execute("SHOW statement_timeout").fetchone()
        checks = StepChecks(post=book.file(second.migration.post_check_path).checks)
        sent = _traced(conn, tmp_path / "trace", lambda: runner.run_step(second, [], checks))
        # the file; the check (savepoint, limits, query); its rollback; history row + COMMIT
        assert _round_trips(sent) == 4, sent
        assert [(r.name, r.passed) for r in runner.check_results] == [("no_empty_notes", True)]
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert conn.execute("SHOW statement_timeout").fetchone() == before  # put back
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("off",)
    finally:
        conn.close()


def test_begin_travels_with_the_first_pre_check(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, NOTES])
    (project / "validations" / "0002_notes.pre.sql").write_text(
        "-- check: accounts_have_emails\nSELECT id FROM accounts WHERE email IS NULL;\n"
        "-- check: no_notes_yet\nSELECT 1 WHERE to_regclass('notes') IS NOT NULL;\n"
    )
    settings = resolve(project, url=db_url, environ={})
    plan = load_plan(project)
    book = CheckBook(plan)
    conn = database.connect(db_url, settings)
    try:
        registry.ensure_registry(conn)
        runner = Runner(conn, settings)
        first, second = steps_up(plan.migrations)
        runner.run_step(first, [])
        checks = StepChecks(pre=book.file(second.migration.pre_check_path).checks)
        assert len(checks.pre) == 2
        sent = _traced(conn, tmp_path / "trace", lambda: runner.run_step(second, [], checks))
        # BEGIN + limits + check 1; its rollback; check 2; its rollback; the file + history
        # row + COMMIT
        assert _round_trips(sent) == 5, sent
        assert [r.passed for r in runner.check_results] == [True, True]
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        conn.close()


def test_a_failed_first_pre_check_sent_with_begin_applies_nothing(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, NOTES])
    (project / "validations" / "0002_notes.pre.sql").write_text(
        "-- check: no_accounts\nSELECT id FROM accounts;\n"
    )
    settings = resolve(project, url=db_url, environ={})
    plan = load_plan(project)
    book = CheckBook(plan)
    conn = database.connect(db_url, settings)
    try:
        registry.ensure_registry(conn)
        runner = Runner(conn, settings)
        first, second = steps_up(plan.migrations)
        runner.run_step(first, [])
        conn.execute("INSERT INTO accounts (email) VALUES ('a@example.com')")
        checks = StepChecks(pre=book.file(second.migration.pre_check_path).checks)
        with pytest.raises(ValidationFailed, match="no_accounts"):
            runner.run_step(second, [], checks)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT to_regclass('notes')").fetchall() == [(None,)]
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        conn.close()


def test_a_check_past_its_budget_fails_and_the_migration_is_undone(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, NOTES])
    (project / "validations" / "0002_notes.post.sql").write_text(
        "-- check: slow\nSELECT id FROM notes WHERE pg_sleep(2) IS NULL;\n"
    )
    (project / "dbkit.toml").write_text('check_timeout = "200ms"\n')
    settings = resolve(project, url=db_url, environ={})
    plan = load_plan(project)
    book = CheckBook(plan)
    conn = database.connect(db_url, settings)
    try:
        registry.ensure_registry(conn)
        runner = Runner(conn, settings)
        first, second = steps_up(plan.migrations)
        runner.run_step(first, [])
        checks = StepChecks(post=book.file(second.migration.post_check_path).checks)
        with pytest.raises(ValidationFailed, match=r"ran past check_timeout \(200ms\)"):
            runner.run_step(second, [], checks)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT to_regclass('notes')").fetchall() == [(None,)]
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        conn.close()


def _watched(conn, project, second_up: str):
    """0001 applied with two rows in accounts; the Runner, the second step and its watch."""
    from dbkit.engine import preserve
    from dbkit.engine.steps import Watch

    extra = Spec("change", "core", second_up, "SELECT 1;\n")
    write_project(project, [ACCOUNTS, extra])
    settings = resolve(project, url=None, environ={})
    plan = load_plan(project)
    registry.ensure_registry(conn)
    runner = Runner(conn, settings)
    first, second = steps_up(plan.migrations)
    runner.run_step(first, [])
    conn.execute("INSERT INTO accounts (email) VALUES ('a@example.com'), ('b@example.com')")
    snapshot = preserve.take(conn, "core", (), [second_up])
    watch = Watch(snapshot, preserve.watch_query(snapshot), "data preservation", True)
    return runner, second, StepChecks(watch=watch)


def test_the_data_preservation_query_travels_with_the_file(tmp_path, db_url):
    conn = database.connect(db_url)
    try:
        runner, second, checks = _watched(
            conn,
            tmp_path / "p",
            "UPDATE accounts SET note = 'x';\nALTER TABLE accounts ADD c int;\n",
        )
        assert checks.watch is not None
        sent = _traced(conn, tmp_path / "trace", lambda: runner.run_step(second, [], checks))
        # the file with the watch query behind it; the history row with COMMIT
        assert _round_trips(sent) == 2, sent
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (2,)
    finally:
        conn.close()


def test_rows_lost_behind_the_file_are_caught_and_undone(tmp_path, db_url):
    conn = database.connect(db_url)
    try:
        runner, second, checks = _watched(
            conn, tmp_path / "p", "DELETE FROM accounts WHERE email LIKE 'a%';\n"
        )
        with pytest.raises(ValidationFailed, match="accounts"):
            runner.run_step(second, [], checks)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (2,)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        conn.close()


def test_a_failing_file_sent_with_its_bookkeeping_records_nothing_but_the_failure(tmp_path, db_url):
    broken = Spec("broken", "core", "CREATE TABLE t (id int);\nSELECT 1/0;\n", "DROP TABLE t;\n")
    project = write_project(tmp_path / "p", [ACCOUNTS, broken])
    settings = resolve(project, url=db_url, environ={})
    plan = load_plan(project)
    conn = database.connect(db_url, settings)
    try:
        registry.ensure_registry(conn)
        runner = Runner(conn, settings)
        with pytest.raises(MigrationFailed, match="division by zero") as caught:
            runner.run(steps_up(plan.migrations), [])
        assert "sql/0002_broken.sql:2" in str(caught.value)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT to_regclass('t')").fetchall() == [(None,)]
        rows = conn.execute("SELECT revision, outcome FROM dbkit.history ORDER BY id").fetchall()
        assert rows == [("0001", "success"), ("0002", "failed")]
    finally:
        conn.close()


def test_the_snapshot_of_a_database_without_tables_is_one_query(tmp_path, db_url):
    """A first phase: the table listing finds nothing, so no catalog is read for what the
    phase's SQL could write, and nothing is counted."""
    conn = database.connect(db_url)
    try:
        texts = ["DELETE FROM accounts", "DROP TABLE orders"]
        snapshots = []
        sent = _traced(
            conn,
            tmp_path / "trace",
            lambda: snapshots.append(preserve.take(conn, "core", (), texts)),
        )
        assert _round_trips(sent) == 1, sent
        assert snapshots == [preserve.Snapshot("core", {})]
        conn.execute("CREATE TABLE accounts (id int); INSERT INTO accounts VALUES (1)")
        sent = _traced(
            conn,
            tmp_path / "trace",
            lambda: snapshots.append(preserve.take(conn, "core", (), texts)),
        )
        assert _round_trips(sent) > 1, sent  # with a table, what can write it is read
        assert snapshots[-1].tables["public.accounts"].rows == 1
    finally:
        conn.rollback()
        conn.close()
