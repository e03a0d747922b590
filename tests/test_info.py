"""dbkit info: every migration of the plan with its state, in order, read from the history."""

from __future__ import annotations

import json

import psycopg
from click.testing import CliRunner
from projects import ACCOUNTS, ORDERS, Spec, write_project

from dbkit.cli import main

FLAGGED = Spec(
    "flag_accounts",
    "core",
    "ALTER TABLE accounts ADD COLUMN flagged boolean NOT NULL DEFAULT false;\n",
    "ALTER TABLE accounts DROP COLUMN flagged;\n",
)
BROKEN = Spec(
    "broken",
    "core",
    "CREATE TABLE widgets (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n",
    "DROP TABLE widgets;\n",
)


def run(project, url, *args):
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    return CliRunner().invoke(
        main, ["--project", str(project), "--url", url, *args], env=env, catch_exceptions=False
    )


def states(project, url) -> dict[str, dict]:
    result = run(project, url, "info", "--json")
    assert result.exit_code == 0, result.output
    return {m["name"] or m["revision"]: m for m in json.loads(result.output)["migrations"]}


def test_info_shows_every_state_in_plan_order(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, FLAGGED, BROKEN])
    # a post-check of 0003 fails: left applied for inspection
    (project / "validations" / "0003_flag_accounts.post.sql").write_text(
        "-- check: nobody_flagged\nSELECT id FROM accounts WHERE NOT flagged;\n"
    )
    assert run(project, db_url, "migrate", "--to", "0002").exit_code == 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (email) VALUES ('a@example.com')")
    left = run(project, db_url, "migrate", "--to", "0003", "--no-auto-rollback")
    assert left.exit_code == 3, left.output
    (project / "validations" / "0003_flag_accounts.post.sql").write_text("")
    failed = run(project, db_url, "migrate")
    assert failed.exit_code == 1, failed.output

    before = states(project, db_url)
    assert [m for m in before] == [
        "0001_accounts",
        "0002_orders",
        "0003_flag_accounts",
        "0004_broken",
    ]
    assert before["0001_accounts"]["state"] == "applied"
    assert before["0001_accounts"]["checksum"] == "ok"
    assert before["0001_accounts"]["applied_by"].startswith("postgres")
    assert before["0001_accounts"]["duration_ms"] >= 0
    assert before["0003_flag_accounts"]["state"] == "left applied"
    assert "nobody_flagged" in before["0003_flag_accounts"]["message"]
    assert before["0004_broken"]["state"] == "failed"
    assert "no_such_table" in before["0004_broken"]["message"]

    # an edited applied migration, and a failed one whose files are gone (out of plan)
    sql = project / "sql" / "0001_accounts.sql"
    sql.write_text(sql.read_text() + "\n-- edited\n")
    for folder, suffix in (("migrations/versions", ".py"), ("sql", ".sql"), ("rollbacks", ".sql")):
        (project / folder / f"0004_broken{suffix}").unlink()

    text = run(project, db_url, "info")
    assert text.exit_code == 0, text.output
    after = states(project, db_url)
    assert list(after) == [
        "0001_accounts",
        "0002_orders",
        "0003_flag_accounts",
        "0004",
    ]
    assert after["0001_accounts"]["checksum"] == "edited"
    assert after["0002_orders"]["checksum"] == "ok"
    assert after["0004"]["state"] == "out of plan"
    lines = text.output.splitlines()
    assert any(line.startswith("0001_accounts") and " edited " in line for line in lines)
    assert any(line.startswith("0004 ") and "out of plan" in line for line in lines)
    assert lines[-1] == ("2 applied, 1 left applied, 1 out of plan, 1 edited since applied")


def test_info_shows_baselined_and_rolled_back_migrations(tmp_path, db_url):
    project = write_project(tmp_path / "p", [ACCOUNTS, ORDERS, FLAGGED])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(ACCOUNTS.up)
    assert run(project, db_url, "baseline", "0001").exit_code == 0
    assert run(project, db_url, "migrate").exit_code == 0
    assert run(project, db_url, "rollback", "--steps", "1").exit_code == 0
    result = states(project, db_url)
    assert result["0001_accounts"]["state"] == "baseline"
    assert "SQL not run" in result["0001_accounts"]["message"]
    assert result["0002_orders"]["state"] == "applied"
    assert result["0003_flag_accounts"]["state"] == "pending"
    assert result["0003_flag_accounts"]["message"].startswith("rolled back ")


def test_info_on_an_imported_project_shows_source_versions(tmp_path, db_url):
    from test_import import FIXTURES

    project = tmp_path / "p"
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    CliRunner().invoke(
        main,
        ["import", "--from", "flyway", str(FIXTURES / "flyway"), "--into", str(project)],
        env=env,
    )
    result = states(project, db_url)
    assert [m["source_version"] for m in result.values()] == [
        "1",
        "1.1",
        "1.2",
        "2",
        "10",
        "10.0.1",
    ]
    assert {m["state"] for m in result.values()} == {"pending"}
