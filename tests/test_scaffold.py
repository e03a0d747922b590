"""`dbkit init` and `dbkit new`: what they write forms a valid plan; bad input is refused."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner

from dbkit.cli.app import main
from dbkit.errors import PlanError, ProjectError, UsageError
from dbkit.plan.graph import load_plan, parse_revision_file
from dbkit.plan.scaffold import PROJECT_FILES, init_project, new_migration, slugify


def test_init_creates_an_empty_valid_project(tmp_path):
    project = tmp_path / "new" / "project"

    written = init_project(project)

    for rel in ("migrations/versions", "sql", "rollbacks", "validations"):
        assert (project / rel).is_dir()
        assert project / rel / ".gitkeep" in written
    for rel, template in PROJECT_FILES.items():
        assert (project / rel).read_bytes() == template.read_bytes()
    assert ".dbkit/" in (project / ".gitignore").read_text().splitlines()
    assert "alembic.ini" in {p.name for p in written}
    plan = load_plan(project)
    assert len(plan) == 0 and plan.head is None


def test_init_keeps_an_existing_gitignore(tmp_path):
    (tmp_path / ".gitignore").write_text("node_modules/")
    init_project(tmp_path)
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n.dbkit/\n"


def test_init_twice_is_refused(tmp_path):
    init_project(tmp_path)
    with pytest.raises(
        UsageError, match=r"already a dbkit project \(migrations/versions/ exists\)"
    ):
        init_project(tmp_path)


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path):
    (tmp_path / "alembic.ini").write_text("[alembic]\n")
    with pytest.raises(UsageError, match="alembic.ini already exist"):
        init_project(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alembic.ini"]


def test_new_numbers_chains_and_phases(tmp_path):
    init_project(tmp_path)

    first = new_migration(tmp_path, "Create accounts", "core")
    new_migration(tmp_path, "orders-table", "core")
    third = new_migration(tmp_path, "Orders index", "perf", non_transactional=True)

    assert [p.relative_to(tmp_path).as_posix() for p in first] == [
        "migrations/versions/0001_create_accounts.py",
        "sql/0001_create_accounts.sql",
        "rollbacks/0001_create_accounts.sql",
        "validations/0001_create_accounts.pre.sql",
        "validations/0001_create_accounts.post.sql",
    ]
    plan = load_plan(tmp_path)
    assert [(m.name, m.down_revision, m.phase, m.transactional) for m in plan] == [
        ("0001_create_accounts", None, "core", True),
        ("0002_orders_table", "0001", "core", True),
        ("0003_orders_index", "0002", "perf", False),
    ]
    assert plan.get("0001").description == "Create accounts."
    assert "must undo sql/0003_orders_index.sql exactly" in third[2].read_text()
    assert "restore the catalog" in third[2].read_text()
    assert "-- check: <name>" in third[3].read_text()
    # The fresh SQL files hold only comments: they run (and roll back) as no-ops.
    assert all(line.startswith("--") for line in third[1].read_text().splitlines() if line)


def test_new_continues_after_the_highest_number(tmp_path):
    init_project(tmp_path)
    new_migration(tmp_path, "a", "core")
    version = tmp_path / "migrations" / "versions"
    # Renumber to 0041 by hand (a project that started elsewhere): the next one is 0042.
    for folder, suffix in (
        (version, ".py"),
        (tmp_path / "sql", ".sql"),
        (tmp_path / "rollbacks", ".sql"),
    ):
        (folder / f"0001_a{suffix}").rename(folder / f"0041_a{suffix}")
    revision_file = version / "0041_a.py"
    revision_file.write_text(revision_file.read_text().replace('"0001"', '"0041"'))

    written = new_migration(tmp_path, "b", "core")

    migration = parse_revision_file(written[0], tmp_path)
    assert (migration.revision, migration.down_revision) == ("0042", "0041")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Add leads", "add_leads"),
        ("  user--roles v2 ", "user_roles_v2"),
        ("Café menu", "cafe_menu"),
    ],
)
def test_slugify(name, slug):
    assert slugify(name) == slug


@pytest.mark.parametrize("name", ["", "   ", "../etc/passwd", "drop; table", "-x", "a" * 60, "___"])
def test_bad_names_are_refused(tmp_path, name):
    init_project(tmp_path)
    with pytest.raises(UsageError, match="migration name"):
        new_migration(tmp_path, name, "core")
    assert list((tmp_path / "sql").glob("*.sql")) == []


@pytest.mark.parametrize("phase", ["", "Core", "2fa", "crm-leads", "core phase"])
def test_bad_phases_are_refused(tmp_path, phase):
    init_project(tmp_path)
    with pytest.raises(UsageError, match="invalid phase"):
        new_migration(tmp_path, "accounts", phase)


def test_a_closed_phase_is_refused(tmp_path):
    init_project(tmp_path)
    new_migration(tmp_path, "accounts", "core")
    new_migration(tmp_path, "index", "perf")

    with pytest.raises(UsageError) as caught:
        new_migration(tmp_path, "more accounts", "core")

    assert caught.value.message == (
        "phase 'core' is closed: it ended at revision 0001 and phase 'perf' follows it"
    )
    assert "use phase 'perf' or a new one" in str(caught.value)
    assert len(load_plan(tmp_path)) == 2


def test_new_refuses_a_broken_plan(tmp_path):
    init_project(tmp_path)
    new_migration(tmp_path, "accounts", "core")
    (tmp_path / "rollbacks" / "0001_accounts.sql").unlink()
    with pytest.raises(PlanError, match="rollback file missing"):
        new_migration(tmp_path, "orders", "core")


def test_new_outside_a_project_is_refused(tmp_path):
    with pytest.raises(ProjectError, match="not a dbkit project"):
        new_migration(tmp_path, "accounts", "core")


def test_init_new_migrate_in_an_empty_directory(tmp_path, db_url, monkeypatch):
    """The whole loop through the CLI: a stranger's empty directory to a migrated database."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    result = runner.invoke(main, ["new", "Create widgets", "--phase", "core"])
    assert result.exit_code == 0, result.output
    (tmp_path / "sql" / "0001_create_widgets.sql").write_text(
        "CREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL);\n"
    )
    (tmp_path / "rollbacks" / "0001_create_widgets.sql").write_text("DROP TABLE widgets;\n")
    result = runner.invoke(main, ["new", "widget index", "--phase", "perf", "--non-transactional"])
    assert result.exit_code == 0, result.output
    (tmp_path / "sql" / "0002_widget_index.sql").write_text(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_widgets_name ON widgets (name);\n"
    )
    (tmp_path / "rollbacks" / "0002_widget_index.sql").write_text(
        "DROP INDEX CONCURRENTLY IF EXISTS ix_widgets_name;\n"
    )

    result = runner.invoke(main, ["--url", db_url, "migrate"])

    assert result.exit_code == 0, result.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert conn.execute("SELECT to_regclass('ix_widgets_name') IS NOT NULL").fetchone()[0]
