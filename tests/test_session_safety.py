"""What a migration or check file may do to the session, refused before connecting or contained,
against real PostgreSQL (issue 11: transaction control, session limits, read-only checks, empty
files)."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner
from projects import ACCOUNTS, BASIC, ORDERS, Spec, write_project

from dbkit import api, settings
from dbkit.cli.app import main
from dbkit.errors import MigrationFailed, PlanError, ValidationFailed
from dbkit.lint.rules import lint_project

UNREACHABLE = "postgresql://nobody:secret@127.0.0.1:1/nowhere"


def resolve(project, url):
    return settings.resolve(project, url=url, environ={})


def query(url, sql, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def relations(url):
    """Every relation outside the system schemas: a refused run must leave none behind."""
    return {
        r[0]
        for r in query(
            url,
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
        )
    }


def cli(project, url, *args):
    result = CliRunner().invoke(main, ["--project", str(project), "--url", url, *args])
    return result


# -- transaction control inside a transactional migration --------------------------------------


@pytest.mark.parametrize(
    "body, keyword, line",
    [
        ("CREATE TABLE notes (id int);\nCOMMIT;\nSELECT 1/0;\n", "COMMIT", 2),
        ("CREATE TABLE notes (id int);\n\n-- undo it\nROLLBACK;\n", "ROLLBACK", 4),
        ("BEGIN;\nCREATE TABLE notes (id int);\n", "BEGIN", 1),
        ("CREATE TABLE notes (id int); END;\n", "COMMIT", 1),  # END is COMMIT
        ("START TRANSACTION;\nCREATE TABLE notes (id int);\n", "START", 1),
    ],
)
def test_transaction_control_is_refused_before_connecting(tmp_path, db_url, body, keyword, line):
    project = write_project(tmp_path / "p", [ACCOUNTS, Spec("notes", "core", body, "SELECT 1;\n")])
    with pytest.raises(PlanError) as refused:
        api.migrate(resolve(project, UNREACHABLE))  # never reaches the (absent) server
    assert refused.value.message.startswith(f"sql/0002_notes.sql:{line}: {keyword} ")
    assert "transactional = False" in refused.value.hint

    before = relations(db_url)
    result = cli(project, db_url, "migrate")
    assert result.exit_code == 1
    [line_out] = [x for x in result.output.splitlines() if x.startswith("dbkit: error:")]
    assert f"sql/0002_notes.sql:{line}: {keyword} in a transactional migration" in line_out
    assert relations(db_url) == before  # not even 0001 ran, no registry was created
    assert "public.accounts" not in relations(db_url)


def test_transaction_control_in_a_rollback_file_is_refused_too(tmp_path, db_url):
    project = write_project(
        tmp_path / "p", [ACCOUNTS, Spec("notes", "core", "CREATE TABLE notes (id int);\n", "")]
    )
    api.migrate(resolve(project, db_url))
    (project / "rollbacks" / "0002_notes.sql").write_text("DROP TABLE notes;\nCOMMIT;\n")
    with pytest.raises(PlanError, match=r"rollbacks/0002_notes.sql:2: COMMIT"):
        api.rollback(resolve(project, db_url), steps=1)
    assert query(db_url, "SELECT to_regclass('notes') IS NOT NULL") == [(True,)]


def test_create_index_concurrently_in_a_transactional_migration_is_refused(tmp_path, db_url):
    index = Spec(
        "orders_index", "core", "\nCREATE INDEX CONCURRENTLY ix_o ON orders (account_id);\n", ""
    )
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, index])
    with pytest.raises(PlanError) as refused:
        api.migrate(resolve(project, UNREACHABLE))
    assert refused.value.message == (
        "sql/0003_orders_index.sql:2: CREATE INDEX CONCURRENTLY cannot run inside a "
        "transaction, but revision 0003 is transactional"
    )
    assert "`transactional = False`" in refused.value.hint
    before = relations(db_url)
    assert cli(project, db_url, "migrate").exit_code == 1
    assert relations(db_url) == before
    # lint says the same thing about the same line
    found = {(f.path, f.line, f.rule) for f in lint_project(project, sources=["dbkit"]).findings}
    assert ("sql/0003_orders_index.sql", 2, "dbkit/undeclared-non-transactional") in found


@pytest.mark.parametrize(
    "statement",
    [
        "RESET ALL;",
        "SET statement_timeout = 0;",
        "SET LOCAL lock_timeout = 0;",
        "RESET lock_timeout;",
    ],
)
def test_lifting_dbkits_limits_in_a_migration_is_refused(tmp_path, db_url, statement):
    body = f"CREATE TABLE notes (id int);\n{statement}\n"
    project = write_project(tmp_path / "p", [Spec("notes", "core", body, "DROP TABLE notes;\n")])
    with pytest.raises(PlanError, match=r"sql/0001_notes.sql:2: .*lift the lock_timeout") as e:
        api.migrate(resolve(project, UNREACHABLE))
    assert "revision file" in e.value.hint
    assert cli(project, db_url, "migrate").exit_code == 1
    assert "public.notes" not in relations(db_url)


def test_savepoints_and_a_plain_search_path_are_still_accepted(tmp_path, db_url):
    body = (
        "SAVEPOINT a;\nCREATE TABLE notes (id int);\nRELEASE SAVEPOINT a;\n"
        "SET LOCAL search_path TO public;\n"
    )
    project = write_project(tmp_path / "p", [Spec("notes", "core", body, "DROP TABLE notes;\n")])
    api.migrate(resolve(project, db_url))
    assert "public.notes" in relations(db_url)


# -- checks only read --------------------------------------------------------------------------


def _project_with_pre_check(tmp_path, check: str):
    project = write_project(tmp_path / "p", BASIC)
    (project / "validations" / "0002_orders.pre.sql").write_text(
        f"-- check: no_stray_accounts\n{check}\n"
    )
    return project


@pytest.mark.parametrize(
    "check, what",
    [
        ("SELECT id FROM accounts FOR UPDATE;", "locks the rows it reads (FOR UPDATE)"),
        ("SELECT a.id FROM accounts a FOR SHARE OF a;", "locks the rows it reads (FOR SHARE)"),
        (
            "WITH gone AS (DELETE FROM accounts RETURNING id) SELECT id FROM gone;",
            "modifies data (DELETE in a WITH query)",
        ),
        ("SELECT id INTO stray FROM accounts;", "creates a table (SELECT INTO)"),
    ],
)
def test_a_check_that_writes_or_locks_is_refused_before_connecting(tmp_path, db_url, check, what):
    project = _project_with_pre_check(tmp_path, check)
    with pytest.raises(PlanError) as refused:
        api.migrate(resolve(project, UNREACHABLE))
    assert refused.value.message.endswith(
        f"validations/0002_orders.pre.sql:1: check 'no_stray_accounts' {what}: a check only reads"
    )
    assert refused.value.rule == "dbkit/check-side-effect"
    before = relations(db_url)
    assert cli(project, db_url, "migrate").exit_code == 1
    assert relations(db_url) == before
    found = {(f.path, f.line, f.rule) for f in lint_project(project, sources=["dbkit"]).findings}
    assert ("validations/0002_orders.pre.sql", 1, "dbkit/check-side-effect") in found


def test_a_pre_check_calling_a_deleting_function_fails_instead_of_deleting(tmp_path, db_url):
    project = write_project(tmp_path / "p", BASIC)
    s = resolve(project, db_url)
    api.migrate(s, to="0001")
    query(
        db_url,
        "INSERT INTO accounts (email) VALUES ('a@x'), ('b@x');"
        "CREATE FUNCTION purge() RETURNS bigint LANGUAGE sql AS "
        "$$ WITH d AS (DELETE FROM accounts RETURNING 1) SELECT count(*) FROM d $$",
    )
    (project / "validations" / "0002_orders.pre.sql").write_text(
        "-- check: purge_is_harmless\nSELECT n FROM purge() AS n WHERE n < 0;\n"
    )
    with pytest.raises(ValidationFailed, match="read-only transaction"):
        api.migrate(s)
    assert query(db_url, "SELECT count(*) FROM accounts") == [(2,)]
    assert query(db_url, "SELECT version_num FROM alembic_version") == [("0001",)]


def test_a_post_check_calling_a_writing_function_fails_and_the_migration_is_undone(
    tmp_path, db_url
):
    project = write_project(tmp_path / "p", BASIC)
    s = resolve(project, db_url)
    api.migrate(s, to="0001")
    query(
        db_url,
        "CREATE TABLE audit (n int);"
        "CREATE FUNCTION note_it() RETURNS int LANGUAGE sql AS "
        "$$ INSERT INTO audit VALUES (1) RETURNING n $$",
    )
    (project / "validations" / "0002_orders.post.sql").write_text(
        "-- check: quiet\nSELECT note_it() AS n WHERE false;\n-- check: loud\nSELECT note_it();\n"
    )
    with pytest.raises(ValidationFailed, match="read-only transaction"):
        api.migrate(s)
    assert query(db_url, "SELECT count(*) FROM audit") == [(0,)]
    assert "public.orders" not in relations(db_url)


def test_checks_still_see_what_the_migration_did(tmp_path, db_url):
    """The savepoint keeps the migration's own uncommitted work visible to its post-checks."""
    project = write_project(tmp_path / "p", BASIC)
    (project / "validations" / "0002_orders.post.sql").write_text(
        "-- check: orders_table_exists\nSELECT 1 WHERE to_regclass('orders') IS NULL;\n"
    )
    result = api.migrate(resolve(project, db_url))
    assert [c.name for c in result.checks if c.passed] == ["orders_table_exists"]
    # and the work after the check was kept: the migration committed
    assert "public.orders" in relations(db_url)


def test_a_check_file_that_is_not_utf8_is_one_error_line(tmp_path, db_url):
    project = write_project(tmp_path / "p", BASIC)
    (project / "validations" / "0001_accounts.post.sql").write_bytes(
        b"-- check: caf\xe9\nSELECT 1 WHERE false;\n"
    )
    result = cli(project, db_url, "migrate")
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = [x for x in result.output.splitlines() if x.startswith("dbkit: error:")]
    assert "validations/0001_accounts.post.sql: not UTF-8 text" in line
    assert "public.accounts" not in relations(db_url)
    found = {(f.path, f.rule) for f in lint_project(project, sources=["dbkit"]).findings}
    assert ("validations/0001_accounts.post.sql", "dbkit/validation-parse") in found


# -- empty files -----------------------------------------------------------------------------


def test_an_empty_migration_is_applied_with_a_warning(tmp_path, db_url):
    empty = Spec("later", "core", "-- TODO\n/* nothing yet */\n", "-- nothing\n")
    project = write_project(tmp_path / "p", [ACCOUNTS, empty])
    result = api.migrate(resolve(project, db_url))
    assert [s.revision for s in result.steps] == ["0001", "0002"]
    [warning] = result.warnings
    assert warning.startswith("sql/0002_later.sql: no statement (only comments or blanks)")
    assert result.to_dict()["warnings"] == [warning]

    # the CLI says it on stderr, and says nothing once it is applied
    api.rollback(resolve(project, db_url), steps=1)
    out = cli(project, db_url, "migrate")
    assert out.exit_code == 0
    assert "sql/0002_later.sql: no statement" in out.output
    assert "no statement" not in cli(project, db_url, "migrate").output


# -- every migration gets the same clean session -------------------------------------------------


def test_search_path_set_by_one_migration_does_not_leak_into_the_next(tmp_path, db_url):
    specs = [
        Spec(
            "other",
            "core",
            "CREATE SCHEMA other;\nSET search_path TO other, public;\n"
            "CREATE TABLE inside (id int);\n",
            "DROP TABLE other.inside;\nDROP SCHEMA other;\n",
        ),
        Spec("notes", "core", "CREATE TABLE notes (id int);\n", "DROP TABLE notes;\n"),
    ]
    project = write_project(tmp_path / "p", specs)
    api.migrate(resolve(project, db_url))
    found = relations(db_url)
    assert "other.inside" in found  # the file's own SET holds for the file
    assert "public.notes" in found and "other.notes" not in found  # not for the next one
    assert query(db_url, "SELECT count(*) FROM alembic_version") == [(1,)]
    api.rollback(resolve(project, db_url), to="base")
    assert "other.inside" not in relations(db_url)


def test_set_role_in_a_migration_does_not_own_the_next_one_nor_its_history(tmp_path, db_url):
    role = f"dbkit_leak_{tmp_path.name[-8:].replace('-', '_')}"
    query(db_url, f"CREATE ROLE {role}")
    try:
        query(db_url, f"GRANT CREATE ON SCHEMA public TO {role}")
        specs = [
            Spec(
                "as_role",
                "core",
                f"SET ROLE {role};\nCREATE TABLE by_role (id int);\n",
                "DROP TABLE by_role;\n",
            ),
            Spec("notes", "core", "CREATE TABLE notes (id int);\n", "DROP TABLE notes;\n"),
            Spec(
                "as_role_too",
                "core",
                f"SET SESSION AUTHORIZATION {role};\nCREATE TABLE by_session (id int);\n",
                "DROP TABLE by_session;\n",
            ),
            Spec("more", "core", "CREATE TABLE more (id int);\n", "DROP TABLE more;\n"),
        ]
        project = write_project(tmp_path / "p", specs)
        api.migrate(resolve(project, db_url))
        owners = dict(
            query(
                db_url,
                "SELECT relname::text, pg_get_userbyid(relowner)::text FROM pg_class "
                "WHERE relname IN ('by_role', 'notes', 'by_session', 'more')",
            )
        )
        me = query(db_url, "SELECT current_user::text")[0][0]
        assert owners == {"by_role": role, "notes": me, "by_session": role, "more": me}
        # the history rows and alembic_version are written as dbkit's own role
        assert query(db_url, "SELECT count(*) FROM dbkit.history WHERE outcome = 'success'") == [
            (4,)
        ]
        api.rollback(resolve(project, db_url), to="base")
    finally:
        query(db_url, f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_migration_after_one_that_changed_settings_runs_under_dbkits_limits(tmp_path, db_url):
    """A session SET of some setting in 0001 is gone by 0002; dbkit's timeouts are in force."""
    probe = (
        "CREATE TABLE seen AS SELECT current_setting('statement_timeout') AS st, "
        "current_setting('lock_timeout') AS lt, current_setting('work_mem') AS wm, "
        "current_setting('application_name') AS app;\n"
    )
    specs = [
        Spec("tune", "core", "SET work_mem = '77MB';\nCREATE TABLE a (id int);\n", "DROP TABLE a;"),
        Spec("probe", "core", probe, "DROP TABLE seen;\n"),
    ]
    project = write_project(tmp_path / "p", specs)
    (project / "dbkit.toml").write_text('statement_timeout = "41s"\nlock_timeout = "3s"\n')
    api.migrate(resolve(project, db_url))
    assert query(db_url, "SELECT st, lt, wm <> '77MB', app FROM seen") == [
        ("41s", "3s", True, "dbkit")
    ]


# -- CREATE INDEX CONCURRENTLY never ends INVALID ---------------------------------------------

CIC = Spec(
    "orders_index",
    "perf",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_account ON orders (account_id);\n",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_orders_account;\n",
    "transactional = False\n",
)


def _index_valid(url):
    return query(
        url,
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = 'ix_orders_account'",
    )


def test_an_index_build_that_hit_lock_timeout_is_dropped_before_every_retry(tmp_path, db_url):
    import threading

    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, CIC])
    (project / "dbkit.toml").write_text(
        'lock_timeout = "300ms"\nlock_retries = 4\nlock_retry_delay = 0.4\n'
    )
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    query(db_url, "INSERT INTO accounts (email) VALUES ('a@x')")
    # a writer's open transaction: the build waits for it, after creating the (invalid) index
    blocker = psycopg.connect(db_url)
    blocker.execute("INSERT INTO orders (account_id, total) SELECT id, 1 FROM accounts")
    release = threading.Timer(1.6, blocker.rollback)
    release.start()
    try:
        result = api.migrate(s)
    finally:
        release.join()
        blocker.close()
    assert _index_valid(db_url) == [(True,)]
    notes = result.steps[-1].notes
    assert any("lock_timeout" in n and "retry 1/4" in n for n in notes), notes
    assert any("dropped invalid index ix_orders_account (before retrying)" in n for n in notes)


def test_a_non_transactional_migration_whose_index_ends_invalid_fails(tmp_path, db_url):
    """Every index the migration names is confirmed valid after it: an INVALID one (here made
    so by its own second statement) fails the migration, which is undone and recorded."""
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, CIC])
    (project / "sql" / "0003_orders_index.sql").write_text(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_account ON orders (account_id);\n"
        "UPDATE pg_index SET indisvalid = false "
        "WHERE indexrelid = 'ix_orders_account'::regclass;\n"
    )
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    with pytest.raises(MigrationFailed) as failed:
        api.migrate(s)
    assert "index ix_orders_account is INVALID after CREATE INDEX CONCURRENTLY" in str(failed.value)
    assert "2 of 2 statements had run, and were undone" in str(failed.value)
    assert _index_valid(db_url) == []  # undone with the paired file
    assert query(db_url, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert query(db_url, "SELECT outcome FROM dbkit.history WHERE revision = '0003'") == [
        ("failed",)
    ]


def test_the_invalid_index_is_looked_up_in_its_tables_schema(tmp_path, db_url):
    """A valid index of the same name earlier on the search_path must not hide the invalid
    one in the table's schema (which `IF NOT EXISTS` would skip)."""
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, CIC])
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    query(
        db_url,
        "INSERT INTO accounts (email) VALUES ('a@x'); "
        "INSERT INTO orders (account_id, total) SELECT id, 1 FROM accounts; "
        "INSERT INTO orders (account_id, total) SELECT id, 2 FROM accounts",
    )
    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.UniqueViolation),  # leaves it INVALID in public
    ):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_orders_account ON orders (account_id)")
    assert _index_valid(db_url) == [(False,)]
    (project / "sql" / "0003_orders_index.sql").write_text(
        "CREATE SCHEMA IF NOT EXISTS early;\n"
        "CREATE TABLE IF NOT EXISTS early.t (a int);\n"
        "CREATE INDEX IF NOT EXISTS ix_orders_account ON early.t (a);\n"
        "SET search_path TO early, public;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_account ON orders (account_id);\n"
    )
    (project / "rollbacks" / "0003_orders_index.sql").write_text(
        "DROP INDEX CONCURRENTLY IF EXISTS public.ix_orders_account;\n"
        "DROP TABLE IF EXISTS early.t;\nDROP SCHEMA IF EXISTS early;\n"
    )
    result = api.migrate(s)
    valid = query(
        db_url,
        "SELECT c.oid::regclass::text, i.indisvalid FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'ix_orders_account' "
        "ORDER BY 1",
    )
    assert valid == [("early.ix_orders_account", True), ("ix_orders_account", True)]
    assert any("dropped invalid index" in n for n in result.steps[-1].notes)


def test_a_scratch_session_keeps_its_fast_commits_through_the_session_reset(make_db):
    """verify, drift and the baseline check replay migrations in a throwaway database with
    synchronous_commit off; the reset after each migration (RESET ALL) must not undo it."""
    from dbkit.engine import database
    from dbkit.engine.runner import CLEAN_SESSION

    with psycopg.connect(make_db(), autocommit=True) as conn:
        database.throwaway(conn)
        conn.execute(CLEAN_SESSION)
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
