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
from dbkit.errors import PlanError, ValidationFailed
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
