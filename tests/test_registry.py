"""The registry evolves: every shape that existed on main upgrades to the current one.

tests/fixtures/registry/vN.sql are the REGISTRY_DDL texts of main's history (v1: 8dfd64d,
history only; v2: b778760, + level and phase_snapshots; v3: ecbc0ae, + preserved_rows; v5:
1676303, + dbkit.registry, dbkit.in_progress and a comment on every column). Each
database gets one of them plus history rows written the way dbkit of that time wrote them;
then read-only commands must read them (and say the registry will be upgraded), ``migrate``
must upgrade it and keep every row, and the upgraded registry must equal a fresh one.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from projects import BASIC, write_project

from dbkit.cli.app import main
from dbkit.engine import registry
from dbkit.plan.graph import load_plan

FIXTURES = Path(__file__).parent / "fixtures" / "registry"


def _cli(project: Path, url: str, *args: str):
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    return CliRunner().invoke(main, ["--project", str(project), "--url", url, *args], env=env)


def _old_registry(url: str, version: int, project: Path) -> list[tuple]:
    """The registry of ``version`` holding the runs of 0001 and 0002 (and a failed one)."""
    plan = load_plan(project)
    first, second = plan.migrations[0], plan.migrations[1]
    columns = "revision, phase, direction, checksum, outcome, dbkit_version, message"
    rows = [
        (first.revision, first.phase, "up", first.checksum, "success", "0.0.1", None),
        (second.revision, second.phase, "up", "0" * 64, "failed", "0.0.1", "syntax error"),
        (second.revision, second.phase, "up", second.checksum, "success", "0.0.1", None),
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(first.up_sql)  # the schema those runs built
        conn.execute(second.up_sql)
        conn.execute((FIXTURES / f"v{version}.sql").read_text())
        for row in rows:
            conn.execute(
                f"INSERT INTO dbkit.history ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)", row
            )
        conn.execute("INSERT INTO alembic_version VALUES ('0002')")
        return conn.execute(f"SELECT id, {columns} FROM dbkit.history ORDER BY id").fetchall()


def _shape(url: str) -> dict:
    """The dbkit schema as the catalog has it: columns, constraints, indexes, comments."""
    with psycopg.connect(url, autocommit=True) as conn:
        return {
            "columns": conn.execute(
                "SELECT table_name, column_name, data_type, column_default, is_nullable, "
                "is_identity, col_description(format('dbkit.%I', table_name)::regclass, "
                "ordinal_position) FROM information_schema.columns "
                "WHERE table_schema = 'dbkit' ORDER BY 1, 2"
            ).fetchall(),
            "constraints": conn.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE connamespace = 'dbkit'::regnamespace ORDER BY 1, 2"
            ).fetchall(),
            "indexes": conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'dbkit' ORDER BY 1"
            ).fetchall(),
            "tables": conn.execute(
                "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
                "WHERE c.relnamespace = 'dbkit'::regnamespace AND c.relkind = 'r' ORDER BY 1"
            ).fetchall(),
        }


@pytest.fixture
def project(tmp_path):
    return write_project(tmp_path / "proj", BASIC)


@pytest.mark.parametrize("version", [1, 2, 3, 5])
def test_every_old_registry_is_read_then_upgraded_keeping_its_rows(project, make_db, version):
    url, fresh = make_db(), make_db()
    before = _old_registry(url, version, project)

    # read-only commands read the old shape and say what will happen to it
    status = _cli(project, url, "status", "--json")
    assert status.exit_code == 0, status.output
    payload = json.loads(status.output)
    assert payload["current_revision"] == "0002"
    assert payload["changed"] == [] and payload["unrecorded"] == []
    assert f"registry here is version {version}" in payload["notice"]
    assert f"upgrades it to version {registry.REGISTRY_VERSION}" in payload["notice"]
    text = _cli(project, url, "status")
    assert f"notice:    the dbkit registry here is version {version}" in text.output
    history = _cli(project, url, "history", "--json")
    assert history.exit_code == 0, history.output
    rows = json.loads(history.output)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert [(r["revision"], r["outcome"], r["level"]) for r in rows] == [
        ("0001", "success", "schema"),
        ("0002", "failed", "schema"),
        ("0002", "success", "schema"),
    ]
    with psycopg.connect(url) as conn:  # reading changed nothing
        if version < 4:
            assert conn.execute("SELECT to_regclass('dbkit.registry')").fetchone()[0] is None
        else:
            assert conn.execute("SELECT max(version) FROM dbkit.registry").fetchone()[0] == version

    # the first writing command upgrades it, under the lock, and carries on
    migrate = _cli(project, url, "migrate")
    assert migrate.exit_code == 0, migrate.output
    assert f"upgraded the dbkit registry to version {registry.REGISTRY_VERSION}" in (
        migrate.output + (migrate.stderr if migrate.stderr_bytes is not None else "")
    )
    with psycopg.connect(url) as conn:
        kept = conn.execute(
            "SELECT id, revision, phase, direction, checksum, outcome, dbkit_version, message "
            "FROM dbkit.history WHERE id <= %s ORDER BY id",
            (before[-1][0],),
        ).fetchall()
        assert kept == before
        # one row per version the registry reached here (a registry from before version 4
        # had no such table: it starts at the current version)
        reached = [version] if version >= 4 else []
        assert conn.execute("SELECT version FROM dbkit.registry ORDER BY 1").fetchall() == [
            (v,) for v in [*reached, registry.REGISTRY_VERSION]
        ]
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0003",)
    again = _cli(project, url, "status", "--json")
    assert json.loads(again.output)["notice"] is None

    # the upgraded registry is the one a fresh database gets
    assert _cli(project, fresh, "migrate").exit_code == 0
    assert _shape(url) == _shape(fresh)


def test_every_registry_column_has_a_comment(db_url, project):
    assert _cli(project, db_url, "migrate").exit_code == 0
    shape = _shape(db_url)
    assert shape["columns"]
    assert [c[:2] for c in shape["columns"] if not c[6]] == []
    assert [t for t in shape["tables"] if not t[1]] == []


def test_a_newer_registry_is_refused(db_url, project):
    assert _cli(project, db_url, "migrate", "--to", "0001").exit_code == 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO dbkit.registry (version, dbkit_version) VALUES (99, '9.9')")
    for command in (["status"], ["migrate"], ["history"]):
        result = _cli(project, db_url, *command)
        assert result.exit_code == 1, result.output
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("dbkit: error: the dbkit registry in this database is version 99")
        assert f"understands (version {registry.REGISTRY_VERSION})" in line
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)


@pytest.mark.parametrize("version", [1, 3])
def test_a_dbkit_sql_script_upgrades_an_old_registry_too(
    pg_server, project, make_db, version, tmp_path
):
    from test_render import run_psql

    url = make_db()
    _old_registry(url, version, project)
    script = CliRunner().invoke(main, ["--project", str(project), "sql", "--from", "0002"])
    assert script.exit_code == 0, script.output
    done = run_psql(pg_server, url, script.output, tmp_path)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM dbkit.registry").fetchall() == [
            (registry.REGISTRY_VERSION,)
        ]
        assert conn.execute(
            "SELECT revision, level FROM dbkit.history ORDER BY id DESC LIMIT 1"
        ).fetchone() == ("0003", "schema")
