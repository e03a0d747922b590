"""dbkit verify: every rollback must restore the schema, on real PostgreSQL.

Each broken fixture project below has one migration whose rollback is subtly wrong; verify
must stop at that migration and name the object that differs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from projects import ACCOUNTS, BASIC, Spec, write_project
from psycopg.conninfo import make_conninfo

from dbkit import settings as dbkit_settings
from dbkit.cli.app import main
from dbkit.compare.verify import verify
from dbkit.errors import ScratchDatabaseError

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def settings_for(project: Path):
    return dbkit_settings.resolve(project, environ={})


def scratch_databases(pg_server) -> list[str]:
    return [
        row[0]
        for row in pg_server._execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'dbkit\\_verify\\_%'"
        )
    ]


def run_cli(project: Path, *args: str):
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    return CliRunner().invoke(
        main, ["--project", str(project), *args], env=env, catch_exceptions=False
    )


@pytest.mark.smoke
def test_verify_passes_on_the_basic_fixture(pg_server):
    result = verify(settings_for(FIXTURES / "basic"), server_url=pg_server.admin_url)
    assert result.ok, result.to_dict()
    assert [v.name for v in result.migrations] == [
        "0001_accounts",
        "0002_orders",
        "0003_orders_index",
    ]
    assert result.chain is not None and result.chain.ok
    assert int(result.exit_code) == 0
    assert result.scratch_database.startswith("dbkit_verify_")
    assert scratch_databases(pg_server) == []


def test_verify_passes_on_a_project_with_every_kind_of_object(tmp_path, pg_server):
    project = write_project(
        tmp_path / "p",
        [
            *BASIC,
            Spec(
                "kinds",
                "extras",
                """\
CREATE TYPE priority AS ENUM ('low', 'normal', 'high');
CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
CREATE SEQUENCE invoice_seq;
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
CREATE MATERIALIZED VIEW order_totals AS SELECT account_id, sum(total) AS total
    FROM orders GROUP BY account_id;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY pol_orders ON orders USING (total >= 0);
GRANT SELECT ON big_orders TO PUBLIC;
COMMENT ON TABLE orders IS 'orders';
""",
                """\
COMMENT ON TABLE orders IS NULL;
DROP POLICY pol_orders ON orders;
ALTER TABLE orders DISABLE ROW LEVEL SECURITY;
DROP MATERIALIZED VIEW order_totals;
DROP VIEW big_orders;
DROP SEQUENCE invoice_seq;
DROP DOMAIN email;
DROP TYPE priority;
""",
            ),
        ],
    )
    result = verify(settings_for(project), server_url=pg_server.admin_url)
    assert result.ok, result.message


TABLE = Spec(
    "widgets",
    "core",
    "CREATE TABLE widgets (id bigint PRIMARY KEY, name text NOT NULL);\n"
    "CREATE FUNCTION widget_label(p_id bigint) RETURNS text LANGUAGE sql STABLE\n"
    "AS $$ SELECT name FROM widgets WHERE id = p_id $$;\n"
    "CREATE TYPE widget_size AS ENUM ('small', 'medium', 'large');\n",
    "DROP TYPE widget_size;\nDROP FUNCTION widget_label(bigint);\nDROP TABLE widgets;\n",
)

BROKEN = {
    "forgets an index": (
        Spec(
            "widget_name_index",
            "core",
            "CREATE INDEX ix_widgets_name ON widgets (name);\n"
            "ALTER TABLE widgets ADD CONSTRAINT ck_widgets_name CHECK (name <> '');\n",
            "ALTER TABLE widgets DROP CONSTRAINT ck_widgets_name;\n",
        ),
        "index public.ix_widgets_name: extra",
    ),
    "leaves a column behind": (
        Spec(
            "widget_colour",
            "core",
            "ALTER TABLE widgets ADD COLUMN colour text;\n"
            "CREATE INDEX ix_widgets_colour ON widgets (colour);\n",
            "DROP INDEX ix_widgets_colour;\n",
        ),
        "column public.widgets.colour: extra",
    ),
    "recreates a function with a different body": (
        Spec(
            "widget_label_upper",
            "core",
            "CREATE OR REPLACE FUNCTION widget_label(p_id bigint) RETURNS text LANGUAGE sql\n"
            "STABLE AS $$ SELECT upper(name) FROM widgets WHERE id = p_id $$;\n",
            "CREATE OR REPLACE FUNCTION widget_label(p_id bigint) RETURNS text LANGUAGE sql\n"
            "STABLE AS $$ SELECT name FROM widgets WHERE id = p_id LIMIT 1 $$;\n",
        ),
        "function public.widget_label(p_id bigint): definition changed",
    ),
    "drops an enum value order": (
        Spec(
            "widget_size_huge",
            "core",
            "ALTER TYPE widget_size ADD VALUE 'huge';\n",
            "DROP TYPE widget_size;\n"
            "CREATE TYPE widget_size AS ENUM ('large', 'medium', 'small');\n",
        ),
        'type public.widget_size: values changed: order changed from ["small", "medium", '
        '"large"] to ["large", "medium", "small"]',
    ),
    "misses a policy": (
        Spec(
            "widget_rls",
            "core",
            "ALTER TABLE widgets ENABLE ROW LEVEL SECURITY;\n"
            "CREATE POLICY pol_widgets_named ON widgets USING (name <> '');\n",
            "ALTER TABLE widgets DISABLE ROW LEVEL SECURITY;\n",
        ),
        "policy public.widgets.pol_widgets_named: extra",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_verify_catches_a_rollback_that_does_not_restore_the_schema(tmp_path, pg_server, case):
    broken, expected = BROKEN[case]
    project = write_project(tmp_path / "p", [TABLE, broken, ACCOUNTS])
    result = verify(settings_for(project), server_url=pg_server.admin_url)
    assert not result.ok
    failure = result.failure
    assert failure.name == f"0002_{broken.slug}"
    assert failure.stage == "rollback restores schema"
    assert failure.message.startswith(
        f"0002_{broken.slug}: its rollback does not restore the schema"
    )
    assert expected in [str(d) for d in failure.differences]
    assert [v.ok for v in result.migrations] == [True, False]  # stops at the first failure
    assert result.chain is None
    assert int(result.exit_code) == 3
    assert scratch_databases(pg_server) == []


@pytest.mark.smoke
def test_cli_names_the_migration_and_the_difference(tmp_path, pg_server):
    broken, expected = BROKEN["forgets an index"]
    project = write_project(tmp_path / "p", [TABLE, broken])
    result = run_cli(project, "verify", "--url", pg_server.admin_url)
    assert result.exit_code == 3, result.output
    assert "ok   0001_widgets" in result.output
    assert "FAIL 0002_widget_name_index" in result.output
    assert (
        "verify failed: 0002_widget_name_index: its rollback does not restore the schema: "
        "1 object differs from before the migration"
    ) in result.output
    assert f"  {expected}" in result.output

    as_json = run_cli(project, "--url", pg_server.admin_url, "verify", "--json")
    assert as_json.exit_code == 3
    data = json.loads(as_json.output)
    assert data["ok"] is False
    assert data["exit_code"] == 3
    assert data["migrations_total"] == 2 and data["migrations_checked"] == 2
    assert data["failure"]["name"] == "0002_widget_name_index"
    assert data["failure"]["stage"] == "rollback restores schema"
    assert data["failure"]["differences"][0]["message"] == expected
    assert data["failure"]["differences"][0]["kind"] == "extra"
    assert scratch_databases(pg_server) == []


def test_a_failing_post_check_fails_verify(tmp_path, pg_server):
    project = write_project(tmp_path / "p", [TABLE])
    (project / "validations" / "0001_widgets.post.sql").write_text(
        "-- check: widgets_seeded\n-- The table must hold the default widget.\n"
        "SELECT 'default' AS missing WHERE NOT EXISTS (SELECT 1 FROM widgets);\n"
    )
    result = verify(settings_for(project), server_url=pg_server.admin_url)
    assert result.failure.stage == "post-checks"
    assert "widgets_seeded" in result.failure.message
    assert "found 1 row" in result.failure.message
    assert int(result.exit_code) == 3


def test_a_rollback_sql_error_fails_verify_with_its_location(tmp_path, pg_server):
    bad = Spec("bad_down", "core", "CREATE TABLE gadgets (id int);\n", "DROP TABLE gadgetz;\n")
    project = write_project(tmp_path / "p", [TABLE, bad])
    result = verify(settings_for(project), server_url=pg_server.admin_url)
    assert result.failure.name == "0002_bad_down"
    assert result.failure.stage == "down"
    assert "rollbacks/0002_bad_down.sql:1" in result.failure.message
    assert scratch_databases(pg_server) == []


def test_verify_needs_a_role_that_may_create_databases(tmp_path, pg_server):
    role = "dbkit_test_nocreatedb"
    pg_server._execute(
        f"DO $$ BEGIN CREATE ROLE {role} LOGIN NOCREATEDB; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    url = make_conninfo(pg_server.admin_url, user=role)
    with pytest.raises(ScratchDatabaseError) as caught:
        verify(settings_for(FIXTURES / "basic"), server_url=url)
    assert str(caught.value).startswith(f"role {role} may not create databases on "), caught.value
    result = run_cli(FIXTURES / "basic", "verify", "--url", url)
    assert result.exit_code == 1
    assert "use --url to point verify at a server where this role may CREATE DATABASE" in (
        result.output
    )


@pytest.mark.unified
@pytest.mark.smoke
def test_verify_passes_on_the_unified_schema(pg_server):
    """The repository's own schema: about 6 s on the embedded server (41 migrations)."""
    t0 = time.perf_counter()
    result = verify(settings_for(ROOT), server_url=pg_server.admin_url)
    elapsed = time.perf_counter() - t0
    failure = result.failure
    detail = "" if failure is None else "\n".join(str(d) for d in failure.differences[:20])
    assert result.ok, f"{result.message}\n{detail}"
    assert len(result.migrations) == result.migrations_total >= 30
    assert elapsed < 60


def test_verify_leaves_the_database_migrate_targets_alone(tmp_path, db_url, pg_server):
    project = write_project(tmp_path / "p", [TABLE])
    settings = dbkit_settings.resolve(project, url=db_url, environ={})
    assert verify(settings, server_url=pg_server.admin_url).ok
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('widgets')").fetchone()[0] is None


def test_verify_drift_and_show_on_a_project_made_by_init(tmp_path, pg_server, db_url):
    project = tmp_path / "fresh"
    assert run_cli(project, "init", str(project)).exit_code == 0
    assert run_cli(project, "new", "things", "--phase", "core").exit_code == 0
    (project / "sql" / "0001_things.sql").write_text(
        "CREATE TABLE things (id bigint PRIMARY KEY, label text NOT NULL);\n"
        "CREATE INDEX ix_things_label ON things (label);\n"
    )
    (project / "rollbacks" / "0001_things.sql").write_text("DROP TABLE things;\n")
    verified = run_cli(project, "verify", "--url", pg_server.admin_url)
    assert verified.exit_code == 0, verified.output
    assert "verified 1 migration: every rollback restores the schema" in verified.output
    assert run_cli(project, "--url", db_url, "migrate").exit_code == 0
    drifted = run_cli(project, "--url", db_url, "drift")
    assert drifted.exit_code == 0, drifted.output
    shown = run_cli(project, "show", "head")
    assert shown.exit_code == 0 and "CREATE INDEX ix_things_label" in shown.output


def test_scratch_url_setting_chooses_the_server_of_verify_and_drift(tmp_path, pg_server, db_url):
    """`scratch_url` in dbkit.toml (${VAR} expanded) is where verify and drift make their
    throwaway databases: a project whose migrations need what the embedded server lacks."""
    project = write_project(tmp_path / "p", [TABLE])
    (project / "dbkit.toml").write_text('scratch_url = "${SCRATCH_SERVER}"\n')
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    env["SCRATCH_SERVER"] = pg_server.admin_url
    runner = CliRunner()
    verified = runner.invoke(main, ["--project", str(project), "verify", "--json"], env=env)
    assert verified.exit_code == 0, verified.output
    server = json.loads(verified.output)["server"]
    assert server == dbkit_settings.mask_url(pg_server.admin_url)
    assert not (project / ".dbkit" / "pgdata").exists()  # the embedded server was not started
    migrated = runner.invoke(main, ["--project", str(project), "--url", db_url, "migrate"], env=env)
    assert migrated.exit_code == 0, migrated.output
    drifted = runner.invoke(
        main, ["--project", str(project), "--url", db_url, "drift", "--json"], env=env
    )
    assert drifted.exit_code == 0, drifted.output
    assert json.loads(drifted.output)["scratch_server"] == server
    assert scratch_databases(pg_server) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('scratch_url = "mysql://u@h/db"', "scratch_url"),
        ("scratch_url = 5", "scratch_url = 5 is an integer, expected a string"),
        ('scratch_url = "${NOT_SET_ANYWHERE}"', "NOT_SET_ANYWHERE"),
    ],
)
def test_a_bad_scratch_url_is_refused_in_one_line(tmp_path, line, expected):
    project = write_project(tmp_path / "p", [TABLE])
    (project / "dbkit.toml").write_text(line + "\n")
    result = run_cli(project, "verify")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("dbkit: error: ") and expected in lines[0]
    assert not (project / ".dbkit" / "pgdata").exists()
