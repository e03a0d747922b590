"""dbkit drift: a hand-made change to a migrated database is found; an untouched one passes."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from projects import BASIC, write_project
from psycopg.conninfo import make_conninfo

from dbkit import api
from dbkit import settings as dbkit_settings
from dbkit.cli.app import main
from dbkit.compare.catalog import snapshot
from dbkit.compare.drift import drift
from dbkit.errors import ScratchDatabaseError


@pytest.fixture
def project(tmp_path) -> Path:
    return write_project(tmp_path / "proj", BASIC)


@pytest.fixture
def migrated(project, db_url):
    """Settings of a database migrated to head with the basic project."""
    settings = dbkit_settings.resolve(project, url=db_url, environ={})
    api.migrate(settings)
    return settings


def execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def run_cli(project: Path, url: str, *args: str):
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    return CliRunner().invoke(
        main, ["--project", str(project), "--url", url, *args], env=env, catch_exceptions=False
    )


def drift_databases(pg_server) -> list[str]:
    return [
        row[0]
        for row in pg_server._execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'dbkit\\_drift\\_%'"
        )
    ]


@pytest.mark.smoke
def test_an_untouched_database_has_no_drift(migrated, pg_server):
    result = drift(migrated)
    assert result.ok, [str(d) for d in result.differences]
    assert result.revision == "0003"
    assert result.revision_name == "0003_orders_index"
    assert int(result.exit_code) == 0
    assert result.objects_compared > 10
    assert result.message.startswith("no drift: the schema matches what the migrations build")
    assert drift_databases(pg_server) == []


HAND_CHANGES = {
    "index dropped": (
        "DROP INDEX ix_orders_account",
        "missing",
        "index public.ix_orders_account: missing",
    ),
    "column added": (
        "ALTER TABLE accounts ADD COLUMN nickname text",
        "extra",
        "column public.accounts.nickname: extra",
    ),
    "function edited": (
        "CREATE OR REPLACE FUNCTION accounts_touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n    NEW.email := upper(NEW.email);\n    RETURN NEW;\nEND;\n$$",
        "changed",
        "function public.accounts_touch(): definition changed",
    ),
}


@pytest.mark.parametrize("change", list(HAND_CHANGES), ids=list(HAND_CHANGES))
def test_drift_finds_a_change_made_by_hand(migrated, pg_server, change):
    statement, kind, expected = HAND_CHANGES[change]
    execute(migrated.url, statement)
    result = drift(migrated)
    assert not result.ok
    assert int(result.exit_code) == 4
    assert [str(d) for d in result.differences] == [expected]
    assert [str(d) for d in result.of_kind(kind)] == [expected]
    assert drift_databases(pg_server) == []


def test_drift_never_writes_to_the_live_database(migrated):
    execute(migrated.url, "DROP INDEX ix_orders_account")
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        before = snapshot(conn, exclude_schemas=())
        history = conn.execute("SELECT count(*) FROM dbkit.history").fetchone()
    drift(migrated)
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        assert snapshot(conn, exclude_schemas=()) == before
        assert conn.execute("SELECT count(*) FROM dbkit.history").fetchone() == history
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0003",)]


def test_drift_at_an_intermediate_revision(project, db_url):
    settings = dbkit_settings.resolve(project, url=db_url, environ={})
    api.migrate(settings, to="0001")
    assert drift(settings).ok
    execute(db_url, "CREATE TABLE orders (id int)")  # built by hand ahead of its migration
    result = drift(settings)
    assert result.revision == "0001"
    assert "table public.orders: extra" in [str(d) for d in result.differences]


def test_a_database_never_migrated_is_compared_with_an_empty_one(project, db_url):
    settings = dbkit_settings.resolve(project, url=db_url, environ={})
    assert drift(settings).ok
    execute(db_url, "CREATE TABLE stray (id int)")
    result = drift(settings)
    assert result.revision is None
    assert "table public.stray: extra" in [str(d) for d in result.differences]


def test_without_createdb_drift_says_so_and_scratch_url_helps(migrated, pg_server):
    role = "dbkit_test_drift_reader"
    pg_server._execute(
        f"DO $$ BEGIN CREATE ROLE {role} LOGIN NOCREATEDB; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    execute(
        migrated.url,
        f"GRANT USAGE ON SCHEMA dbkit TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA dbkit "
        f"TO {role}; GRANT SELECT ON alembic_version TO {role}",
    )
    reader_url = make_conninfo(migrated.url, user=role)
    settings = dbkit_settings.resolve(migrated.project_dir, url=reader_url, environ={})
    with pytest.raises(ScratchDatabaseError) as caught:
        drift(settings)
    message = str(caught.value)
    assert message.startswith(f"role {role} may not create databases on ")
    assert "--scratch-url" in message
    # The grants made for the reader are on the registry and the version table: not schema.
    result = drift(settings, scratch_url=pg_server.admin_url)
    assert result.ok, [str(d) for d in result.differences]
    cli = run_cli(migrated.project_dir, reader_url, "drift")
    assert cli.exit_code == 1
    assert "may not create databases" in cli.output


@pytest.mark.smoke
def test_cli_reports_drift_as_text_and_json(migrated):
    execute(migrated.url, "DROP INDEX ix_orders_account; ALTER TABLE accounts ADD COLUMN nick text")
    text = run_cli(migrated.project_dir, migrated.url, "drift")
    assert text.exit_code == 4, text.output
    assert "revision:  0003_orders_index" in text.output
    assert "drift: the schema differs from what the migrations build at revision 0003: " in (
        text.output
    )
    assert "  column public.accounts.nick: extra" in text.output
    assert "  index public.ix_orders_account: missing" in text.output

    as_json = run_cli(migrated.project_dir, migrated.url, "drift", "--json")
    assert as_json.exit_code == 4
    data = json.loads(as_json.output)
    assert data["ok"] is False and data["exit_code"] == 4
    assert data["revision"] == "0003"
    assert [d["message"] for d in data["missing"]] == ["index public.ix_orders_account: missing"]
    assert [d["message"] for d in data["extra"]] == ["column public.accounts.nick: extra"]
    assert data["changed"] == []

    execute(migrated.url, "CREATE INDEX ix_orders_account ON orders (account_id)")
    execute(migrated.url, "ALTER TABLE accounts DROP COLUMN nick")
    clean = run_cli(migrated.project_dir, migrated.url, "drift")
    assert clean.exit_code == 0, clean.output
    assert "no drift" in clean.output
