"""dbkit import: each format's fixture corpus builds, through `dbkit migrate`, the very schema that
psql builds running the source files in the source tool's own order."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dbkit.cli import main
from dbkit.compare.catalog import diff, format_differences, snapshot
from dbkit.plan.graph import load_plan
from dbkit.plan.importers import source_versions

FIXTURES = Path(__file__).parent / "fixtures" / "import"

# The source tools' own order, written out by hand from each tool's documented rule (not from
# dbkit's importers): golang-migrate and goose order by integer version (9 before 10), dbmate
# by file name, Flyway by version compared part by part as numbers (1.1 < 1_2 < 2 < 10 <
# 10.0.1), Diesel by the version with '-' removed (the plain 20240102030406 after the dashed
# 2024-01-02-030405, although a name sort puts it first), Sqitch by sqitch.plan.
SOURCE_ORDER = {
    "golang-migrate": [
        ("1", "1_create_orders.up.sql"),
        ("2", "2_updated_at_trigger.up.sql"),
        ("3", "3_backfill-email-domain.up.sql"),
        ("9", "9_order_status_values.up.sql"),
        ("10", "10_orders_customer_index.up.sql"),
        ("11", "11_customer_totals.up.sql"),
    ],
    "dbmate": [
        ("20240102030405", "20240102030405_create_orders.sql"),
        ("20240102030406", "20240102030406_updated_at_trigger.sql"),
        ("20240110090000", "20240110090000_backfill_email_domain.sql"),
        ("20240201120000", "20240201120000_order_status_values.sql"),
        ("20240201120100", "20240201120100_orders_customer_index.sql"),
        ("20240315000000", "20240315000000_customer_totals.sql"),
    ],
    "goose": [
        ("1", "00001_create_orders.sql"),
        ("2", "00002_updated_at_trigger.sql"),
        ("3", "00003_backfill_email_domain.sql"),
        # 00004_notify_sales.go: a Go migration with no SQL effect, not importable (listed)
        ("9", "00009_order_status_values.sql"),
        ("10", "00010_orders_customer_index.sql"),
        ("11", "00011_customer_totals.sql"),
    ],
    "flyway": [
        ("1", "V1__create_orders.sql"),
        ("1.1", "V1.1__updated_at_trigger.sql"),
        ("1.2", "V1_2__Backfill_email_domain.sql"),
        ("2", "V2__order_status_values.sql"),
        ("10", "V10__orders_customer_index.sql"),
        ("10.0.1", "V10.0.1__customer_totals.sql"),
        # R__order_report_view.sql: repeatable, reported as not importable (docs/import.md)
    ],
    "diesel": [
        ("00000000000000", "00000000000000_diesel_initial_setup/up.sql"),
        ("20240102030405", "2024-01-02-030405_create_orders/up.sql"),
        ("20240102030406", "20240102030406_updated_at_trigger/up.sql"),
        ("20240110090000", "2024-01-10-090000_backfill_email_domain/up.sql"),
        ("20240201120000", "2024-02-01-120000_order_status_values/up.sql"),
        ("20240201120100", "2024-02-01-120100_orders_customer_index/up.sql"),
        ("20240315000000", "2024-03-15-000000_customer_totals/up.sql"),
    ],
    "sqitch": [
        ("orders", "deploy/orders.sql"),
        ("updated_at_trigger@v1.0", "deploy/updated_at_trigger@v1.0.sql"),
        ("backfill_email_domain", "deploy/backfill_email_domain.sql"),
        ("order_status_values", "deploy/order_status_values.sql"),
        ("orders_customer_index", "deploy/orders_customer_index.sql"),
        ("updated_at_trigger", "deploy/updated_at_trigger.sql"),
        ("customer_totals", "deploy/customer_totals.sql"),
    ],
}

NON_TRANSACTIONAL = {
    "golang-migrate": {"10"},
    "dbmate": {"20240201120100"},
    "goose": {"10"},
    "flyway": {"10"},
    "diesel": {"20240201120100"},
    "sqitch": {"orders_customer_index"},
}

NO_ROLLBACK = {
    "golang-migrate": {"11"},
    "dbmate": {"20240315000000"},
    "goose": {"11"},
    "flyway": {"10.0.1"},
    "diesel": {"20240315000000"},
    "sqitch": {"customer_totals"},
}


def up_part(tool: str, text: str) -> str:
    """What the tool sends to the server for the forward direction of one file."""
    if tool == "dbmate":
        return text.split("-- migrate:down")[0]
    if tool == "goose":
        return text.split("-- +goose Up", 1)[1].split("-- +goose Down")[0]
    return text


def psql(pg_server) -> str:
    found = pg_server.bindir / "psql" if pg_server.bindir else None
    if found and found.exists():
        return str(found)
    for candidate in ("/usr/lib/postgresql/15/bin/psql", shutil.which("psql")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("no psql binary")


def run_cli(*args: str, url: str | None = None):
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    extra = ["--url", url] if url else []
    return CliRunner().invoke(main, [*extra, *args], env=env, catch_exceptions=False)


def data(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT email, email_domain FROM customers ORDER BY email").fetchall()


@pytest.mark.parametrize("tool", list(SOURCE_ORDER))
def test_imported_project_builds_the_schema_the_source_tool_builds(
    tool, tmp_path, make_db, pg_server
):
    source = FIXTURES / tool
    project = tmp_path / "project"
    result = run_cli("import", "--from", tool, str(source), "--into", str(project))
    assert result.exit_code == 0, result.output

    # the exact order, and each migration's original version kept in its revision file
    plan = load_plan(project)
    versions = source_versions(project)
    assert [versions[m.revision] for m in plan] == [(tool, v) for v, _ in SOURCE_ORDER[tool]]
    for migration in plan:
        version = versions[migration.revision][1]
        assert migration.transactional == (version not in NON_TRANSACTIONAL[tool]), version
        refusing = migration.down_sql.startswith("-- dbkit: irreversible:")
        assert refusing == (version in NO_ROLLBACK[tool]), version
        original = dict(SOURCE_ORDER[tool])[version]
        assert original in migration.revision_path.read_text()  # docstring names the source

    dbkit_url, psql_url = make_db(), make_db()
    migrated = run_cli("--project", str(project), "migrate", url=dbkit_url)
    assert migrated.exit_code == 0, migrated.output

    for _, rel in SOURCE_ORDER[tool]:
        script = tmp_path / "psql.sql"
        script.write_text(up_part(tool, (source / rel).read_text()))
        run = subprocess.run(
            [psql(pg_server), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", psql_url, "-f", script],
            capture_output=True,
            text=True,
            env={**os.environ, "PGOPTIONS": "--client-min-messages=warning"},
        )
        assert run.returncode == 0, f"{rel}: {run.stderr}"

    with psycopg.connect(dbkit_url) as a, psycopg.connect(psql_url) as b:
        expected, actual = snapshot(b), snapshot(a)
    differences = diff(expected, actual)
    assert not differences, format_differences(differences)
    assert len(expected) > 20
    assert (
        data(dbkit_url)
        == data(psql_url)
        == [
            ("ada@example.com", "example.com"),
            ("grace@navy.example.mil", "navy.example.mil"),
        ]
    )


def test_the_import_lists_what_it_changed_ignored_and_could_not_import(tmp_path):
    result = run_cli(
        "import",
        "--from",
        "flyway",
        str(FIXTURES / "flyway"),
        "--into",
        str(tmp_path / "p"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["not_importable"] == [
        {
            "file": "R__order_report_view.sql",
            "reason": report["not_importable"][0]["reason"],
        }
    ]
    assert "repeatable" in report["not_importable"][0]["reason"]
    assert [i["file"] for i in report["ignored"]] == ["flyway.conf"]
    names = {m["source_version"]: m for m in report["migrations"]}
    assert names["1.2"]["file_name"] == "0003_backfill_email_domain"
    assert any("not a valid slug" in n for n in names["1.2"]["notes"])
    assert not names["10.0.1"]["has_rollback"]

    text = run_cli(
        "import", "--from", "goose", str(FIXTURES / "goose"), "--into", str(tmp_path / "g")
    )
    assert "not imported: 00004_notify_sales.go: a Go migration" in text.output
    assert "ignored:      embed.go" in text.output
    assert "1 without a down file" in text.output


def test_sqitch_verify_scripts_become_post_checks(tmp_path, db_url):
    project = tmp_path / "p"
    result = run_cli("import", "--from", "sqitch", str(FIXTURES / "sqitch"), "--into", str(project))
    assert result.exit_code == 0, result.output
    # queries became checks; the DO/ASSERT verify script is listed, not converted
    assert "verify script not converted to post-checks: it holds a DoStmt" in result.output
    checks = (project / "validations" / "0001_orders.post.sql").read_text()
    assert checks.count("-- check: verify_orders_") == 2
    assert not (project / "validations" / "0006_updated_at_trigger.post.sql").exists()
    # a verify query that fails makes the migration fail, as `sqitch verify` would
    broken = project / "validations" / "0003_backfill_email_domain.post.sql"
    broken.write_text(broken.read_text().replace("'example.com'", "'nowhere.example'"))
    run = run_cli("--project", str(project), "migrate", url=db_url)
    assert run.exit_code != 0
    assert "verify_backfill_email_domain_1" in run.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0002",)


def test_a_missing_down_file_becomes_a_rollback_that_refuses_and_lint_flags_it(tmp_path, db_url):
    project = tmp_path / "p"
    run_cli(
        "import",
        "--from",
        "golang-migrate",
        str(FIXTURES / "golang-migrate"),
        "--into",
        str(project),
    )
    lint = run_cli("--project", str(project), "lint", "--only", "dbkit", "--json")
    findings = json.loads(lint.output)["findings"]
    irreversible = [f for f in findings if f["rule"] == "dbkit/irreversible"]
    assert [f["path"] for f in irreversible] == ["rollbacks/0006_customer_totals.sql"]
    assert lint.exit_code != 0

    assert run_cli("--project", str(project), "migrate", url=db_url).exit_code == 0
    refused = run_cli("--project", str(project), "rollback", "--steps", "1", url=db_url)
    assert refused.exit_code == 1
    assert "no rollback: golang-migrate migration customer_totals" in refused.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0006",)
        assert conn.execute("SELECT to_regclass('customer_totals') IS NOT NULL").fetchone()[0]


def test_import_into_a_directory_holding_an_alembic_project(tmp_path):
    project = tmp_path / "repo"
    project.mkdir()
    (project / "alembic.ini").write_text("[alembic]\nscript_location = legacy\n")
    result = run_cli("import", "--from", "dbmate", str(FIXTURES / "dbmate"), "--into", str(project))
    assert result.exit_code == 0, result.output
    assert "kept:         alembic.ini" in result.output
    assert (project / "alembic.ini").read_text() == "[alembic]\nscript_location = legacy\n"
    assert len(load_plan(project)) == 6
    again = run_cli("import", "--from", "dbmate", str(FIXTURES / "dbmate"), "--into", str(project))
    assert again.exit_code == 2
    assert again.output.startswith("dbkit: error: ") and "already holds revisions" in again.output


@pytest.mark.parametrize(
    ("tool", "setup", "expected"),
    [
        ("liquibase", None, "unknown import format 'liquibase'"),
        ("flyway", "empty", "no flyway migrations found (the directory is empty)"),
        ("dbmate", "mixed", "mixed source directory"),
        ("flyway", "mixed", "mixed source directory"),
        ("golang-migrate", "missing", "not a directory"),
    ],
)
def test_bad_import_input_is_one_line_and_exit_2(tool, setup, expected, tmp_path):
    source = tmp_path / "src"
    if setup != "missing":
        source.mkdir()
    if setup == "mixed":
        shutil.copy(FIXTURES / "flyway" / "V1__create_orders.sql", source)
        shutil.copy(FIXTURES / "dbmate" / "20240102030405_create_orders.sql", source)
    result = run_cli("import", "--from", tool, str(source), "--into", str(tmp_path / "p"))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dbkit: error: "), result.output
    assert expected in lines[0]
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    ("tool", "files", "expected"),
    [
        (
            "golang-migrate",
            {"1_a.up.sql": "SELECT 1;", "001_b.up.sql": "SELECT 1;"},
            "two up files for version 1",
        ),
        ("dbmate", {"1_a.sql": "CREATE TABLE a (id int);\n"}, "exactly one `-- migrate:up`"),
        ("goose", {"1_a.sql": "CREATE TABLE a (id int);\n"}, "no `-- +goose Up` annotation"),
        (
            "flyway",
            {"V1__a.sql": "SELECT 1;", "V1.0__b.sql": "SELECT 1;"},
            "more than one migration with version 1",
        ),
        (
            "diesel",
            {"2024-01-02-030405_a/up.sql": "SELECT 1;", "20240102030405_b/up.sql": "SELECT 1;"},
            "have the same version 20240102030405",
        ),
        (
            "sqitch",
            {"sqitch.plan": "%project=x\n\nmissing 2024-01-02T03:04:05Z A <a@b.c>\n"},
            "change missing has no deploy script deploy/missing.sql",
        ),
    ],
)
def test_what_the_source_tool_would_refuse_is_refused(tool, files, expected, tmp_path):
    source = tmp_path / "src"
    for rel, text in files.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text(text)
    result = run_cli("import", "--from", tool, str(source), "--into", str(tmp_path / "p"))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("dbkit: error: ") and expected in result.output
    assert not (tmp_path / "p").exists()


def test_each_tool_orders_by_its_own_rule(tmp_path):
    from dbkit.plan.importers import scan_source

    cases = {
        "golang-migrate": (["10_c.up.sql", "9_b.up.sql", "0001_a.up.sql"], ["1", "9", "10"]),
        "goose": (
            ["20240101000000_c.sql", "00002_b.sql", "00001_a.sql"],
            ["1", "2", "20240101000000"],
        ),
        "flyway": (
            ["V1_10__d.sql", "V1.9__c.sql", "V1.2.3__b.sql", "V1__a.sql"],
            ["1", "1.2.3", "1.9", "1.10"],
        ),
        # dbmate sorts file names as strings: "20240102_" before "2024010_" ('2' < '_')
        "dbmate": (["2024010_a.sql", "20240102_b.sql"], ["20240102", "2024010"]),
    }
    bodies = {"dbmate": "-- migrate:up\nSELECT 1;\n", "goose": "-- +goose Up\nSELECT 1;\n"}
    for tool, (names, order) in cases.items():
        source = tmp_path / tool
        source.mkdir()
        for name in names:
            (source / name).write_text(bodies.get(tool, "SELECT 1;\n"))
        assert [m.version for m in scan_source(tool, source).migrations] == order, tool


# dbmate and goose write both directions in one file; one splitter (importers/base.py
# split_sections) reads both, so the same file content means the same migration in each.
_MARKERS = {
    "dbmate": ("-- migrate:up", "-- migrate:down", "-- migrate:up transaction:false"),
    "goose": ("-- +goose Up", "-- +goose Down", "-- +goose NO TRANSACTION\n-- +goose Up"),
}


@pytest.mark.parametrize("tool", sorted(_MARKERS))
def test_one_file_formats_split_their_sections_alike(tool, tmp_path):
    from dbkit.plan.importers import scan_source

    up, down, up_outside = _MARKERS[tool]
    files = {
        "1_both.sql": f"-- a header comment\n{up}\nCREATE TABLE a (id int);\n\n{down}\n"
        "DROP TABLE a;\n",
        "2_up_only.sql": f"{up}\nCREATE TABLE b (id int);\n",
        "3_empty_down.sql": f"{up}\nCREATE TABLE c (id int);\n{down}\n\n",
        "4_outside.sql": f"{up_outside}\nCREATE INDEX CONCURRENTLY ix_a ON a (id);\n{down}\n"
        "DROP INDEX ix_a;\n",
    }
    source = tmp_path / tool
    source.mkdir()
    for name, text in files.items():
        (source / name).write_text(text)
    found = {m.version: m for m in scan_source(tool, source).migrations}
    assert found["1"].up == "CREATE TABLE a (id int);\n"  # the header is in neither section
    assert found["1"].down == "DROP TABLE a;\n"
    assert (found["2"].up, found["2"].down) == ("CREATE TABLE b (id int);\n", None)
    assert (found["3"].up, found["3"].down) == ("CREATE TABLE c (id int);\n", None)
    assert [m.transactional for m in found.values()] == [True, True, True, False]
    assert found["4"].up == "CREATE INDEX CONCURRENTLY ix_a ON a (id);\n"


@pytest.mark.parametrize("tool", sorted(_MARKERS))
@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        (
            "{up}\nSELECT 1;\n{up}\nSELECT 2;\n",
            "1_a.sql:3: a second `{up}` line (the first is on line 1)",
        ),
        (
            "{up}\nSELECT 1;\n{down}\nSELECT 2;\n{down}\nSELECT 3;\n",
            "1_a.sql:5: a second `{down}` line",
        ),
        ("{down}\nSELECT 2;\n{up}\nSELECT 1;\n", "1_a.sql:3: `{up}` after `{down}` (line 1)"),
    ],
    ids=["two ups", "two downs", "down first"],
)
def test_what_both_one_file_tools_refuse_is_refused_with_its_line(tool, layout, expected, tmp_path):
    up, down, _ = _MARKERS[tool]
    source = tmp_path / "src"
    source.mkdir()
    (source / "1_a.sql").write_text(layout.format(up=up, down=down))
    result = run_cli("import", "--from", tool, str(source), "--into", str(tmp_path / "p"))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("dbkit: error: ")
    assert expected.format(up=up, down=down) in result.output
    assert not (tmp_path / "p").exists()
