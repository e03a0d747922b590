"""dbkit adopt / baseline: take over a database another tool migrated, from its history table,
after proving the live schema is what the plan builds; refuse histories that do not fit."""

from __future__ import annotations

import json
import os
import subprocess

import psycopg
import pytest
from test_import import FIXTURES, SOURCE_ORDER, psql, run_cli, up_part

# Each tool's history table as the tool creates it, and the rows it writes for `versions`.
HISTORY_DDL = {
    "golang-migrate": "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, "
    "dirty boolean NOT NULL)",
    "dbmate": "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)",
    "goose": "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, "
    "is_applied boolean NOT NULL, tstamp timestamp NULL DEFAULT now(), PRIMARY KEY (id)); "
    "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)",
    "flyway": "CREATE TABLE flyway_schema_history (installed_rank integer NOT NULL, "
    "version varchar(50), description varchar(200) NOT NULL, type varchar(20) NOT NULL, "
    "script varchar(1000) NOT NULL, checksum integer, installed_by varchar(100) NOT NULL, "
    "installed_on timestamp NOT NULL DEFAULT now(), execution_time integer NOT NULL, "
    "success boolean NOT NULL); ALTER TABLE flyway_schema_history ADD CONSTRAINT "
    "flyway_schema_history_pk PRIMARY KEY (installed_rank); "
    "CREATE INDEX flyway_schema_history_s_idx ON flyway_schema_history (success)",
    "diesel": "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY NOT "
    "NULL, run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    "sqitch": "CREATE SCHEMA sqitch; CREATE TABLE sqitch.changes (change_id text PRIMARY KEY, "
    "script_hash text, change text NOT NULL, project text NOT NULL, note text NOT NULL "
    "DEFAULT '', committed_at timestamptz NOT NULL DEFAULT clock_timestamp(), "
    "committer_name text NOT NULL DEFAULT 'ada', committer_email text NOT NULL DEFAULT "
    "'ada@example.com', planned_at timestamptz NOT NULL DEFAULT now(), planner_name text NOT "
    "NULL DEFAULT 'ada', planner_email text NOT NULL DEFAULT 'ada@example.com')",
}


def record(conn, tool: str, version: str, rank: int, *, success: bool = True) -> None:
    if tool == "golang-migrate":
        conn.execute("DELETE FROM schema_migrations")
        conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (int(version), not success))
    elif tool in ("dbmate", "diesel"):
        table = "schema_migrations" if tool == "dbmate" else "__diesel_schema_migrations"
        conn.execute(f"INSERT INTO {table} (version) VALUES (%s)", (version,))
    elif tool == "goose":
        conn.execute(
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (%s, true)",
            (int(version),),
        )
    elif tool == "flyway":
        conn.execute(
            "INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
            "script, checksum, installed_by, execution_time, success) "
            "VALUES (%s, %s, 'x', 'SQL', %s, 0, 'flyway', 12, %s)",
            (rank, version, f"V{version}__x.sql", success),
        )
    else:
        conn.execute(
            "INSERT INTO sqitch.changes (change_id, change, project, committed_at) "
            "VALUES (md5(%s), %s, 'shop', now() + make_interval(secs => %s))",
            (f"{version}{rank}", version.split("@")[0], rank),
        )


def migrate_with_tool(tool: str, url: str, count: int, pg_server, tmp_path, **kwargs) -> None:
    """What the source tool leaves: its first ``count`` migrations applied, and its history."""
    for _, rel in SOURCE_ORDER[tool][:count]:
        script = tmp_path / "run.sql"
        script.write_text(up_part(tool, (FIXTURES / tool / rel).read_text()))
        run = subprocess.run(
            [psql(pg_server), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", script],
            capture_output=True,
            text=True,
            env={**os.environ, "PGOPTIONS": "--client-min-messages=warning"},
        )
        assert run.returncode == 0, run.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(HISTORY_DDL[tool])
        for rank, (version, _) in enumerate(SOURCE_ORDER[tool][:count], start=1):
            record(conn, tool, version, rank, **kwargs)


def imported(tool: str, tmp_path):
    project = tmp_path / "project"
    result = run_cli("import", "--from", tool, str(FIXTURES / tool), "--into", str(project))
    assert result.exit_code == 0, result.output
    return project


def version_row(url: str):
    with psycopg.connect(url) as conn:
        if not conn.execute("SELECT to_regclass('alembic_version')").fetchone()[0]:
            return None
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()


def nothing_recorded(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT to_regclass('alembic_version'), to_regnamespace('dbkit')"
        ).fetchone()
    return row == (None, None)


@pytest.mark.parametrize("tool", list(SOURCE_ORDER))
def test_adopt_baselines_at_the_revision_the_tool_history_ends_at(
    tool, tmp_path, db_url, pg_server
):
    project = imported(tool, tmp_path)
    applied = 4
    migrate_with_tool(tool, db_url, applied, pg_server, tmp_path)

    status = run_cli("--project", str(project), "status", url=db_url)
    assert f"{tool}'s history" in status.output and "dbkit adopt" in status.output

    result = run_cli("--project", str(project), "adopt", "--json", url=db_url)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["current_revision"] == f"{applied:04d}"
    assert report["revisions"] == [f"{n:04d}" for n in range(1, applied + 1)]
    assert "the schema matched" in report["message"]

    # dbkit now runs what the tool had not applied yet, from there
    rest = run_cli("--project", str(project), "migrate", url=db_url)
    assert rest.exit_code == 0, rest.output
    assert version_row(db_url) == (f"{len(SOURCE_ORDER[tool]):04d}",)
    history = run_cli("--project", str(project), "history", "--json", url=db_url)
    rows = json.loads(history.output)["rows"]
    assert [r["direction"] for r in rows[:applied]] == ["baseline"] * applied
    assert f"adopted from {tool} history" in rows[0]["message"]
    if tool not in ("goose", "sqitch"):  # a table with its sequence; a whole schema
        return
    # the old tool's history table stays behind: drift says so, and does not count it
    drift = run_cli("--project", str(project), "drift", "--json", url=db_url)
    assert drift.exit_code == 0, drift.output
    assert any(f"{tool}'s history" in note for note in json.loads(drift.output)["notes"])


@pytest.mark.parametrize(
    ("tool", "break_history", "expected"),
    [
        (
            "golang-migrate",
            "UPDATE schema_migrations SET dirty = true",
            "golang-migrate left version 9 dirty",
        ),
        (
            "flyway",
            "UPDATE flyway_schema_history SET success = false WHERE version = '1.2'",
            "records a failed migration: rank 3, version 1.2",
        ),
        (
            "dbmate",
            "DELETE FROM schema_migrations WHERE version = '20240102030406'",
            "gap in schema_migrations: version 20240201120000 is applied but 20240102030406",
        ),
        (
            "goose",
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (77, true)",
            "records version(s) the project lacks: 77",
        ),
        (
            "diesel",
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000')",
            "records version(s) the project lacks: 20991231000000",
        ),
        (
            "sqitch",
            "UPDATE sqitch.changes SET change = 'orders_v2' WHERE change = 'orders'",
            "records change orders_v2 as deployed number 1",
        ),
        ("golang-migrate", "DROP TABLE schema_migrations", "no golang-migrate history"),
    ],
)
def test_a_history_that_does_not_fit_is_refused_and_nothing_is_recorded(
    tool, break_history, expected, tmp_path, db_url, pg_server
):
    project = imported(tool, tmp_path)
    migrate_with_tool(tool, db_url, 4, pg_server, tmp_path)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(break_history)
    result = run_cli("--project", str(project), "adopt", url=db_url)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dbkit: error: "), result.output
    assert expected in lines[0]
    assert nothing_recorded(db_url)


def test_adopt_refuses_a_schema_that_differs_unless_forced(tmp_path, db_url, pg_server):
    project = imported("flyway", tmp_path)
    migrate_with_tool("flyway", db_url, 3, pg_server, tmp_path)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE INDEX ix_hand_made ON orders (status)")
        conn.execute("ALTER TABLE customers DROP COLUMN created_at")
    result = run_cli("--project", str(project), "adopt", url=db_url)
    assert result.exit_code == 4, result.output
    assert "the live schema differs from what the migrations build at revision 0003" in (
        result.output
    )
    assert "index public.ix_hand_made: extra" in result.output
    assert "column public.customers.created_at: missing" in result.output
    assert nothing_recorded(db_url)

    forced = run_cli("--project", str(project), "adopt", "--force", url=db_url)
    assert forced.exit_code == 0, forced.output
    assert "schema NOT checked (--force)" in forced.output
    assert version_row(db_url) == ("0003",)


def test_baseline_compares_the_live_schema_first(tmp_path, db_url, pg_server):
    project = imported("goose", tmp_path)
    migrate_with_tool("goose", db_url, 2, pg_server, tmp_path)
    # the schema holds 2 migrations: baselining at 3 is refused, at 2 accepted
    wrong = run_cli("--project", str(project), "baseline", "0003", url=db_url)
    assert wrong.exit_code == 4, wrong.output
    assert "differs from what the migrations build at revision 0003" in wrong.output
    assert "column public.customers.email_domain: missing" in wrong.output
    assert nothing_recorded(db_url)
    right = run_cli("--project", str(project), "baseline", "0002", url=db_url)
    assert right.exit_code == 0, right.output
    assert "the schema matched" in right.output
    again = run_cli("--project", str(project), "baseline", "0002", url=db_url)
    assert again.exit_code == 2 and "already at revision 0002" in again.output


def test_baseline_force_skips_the_check(tmp_path, db_url):
    project = imported("dbmate", tmp_path)
    result = run_cli("--project", str(project), "baseline", "0002", "--force", url=db_url)
    assert result.exit_code == 0, result.output
    assert version_row(db_url) == ("0002",)


def test_status_points_an_untracked_database_to_baseline(tmp_path, db_url):
    project = imported("dbmate", tmp_path)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE legacy (id int)")
    result = run_cli("--project", str(project), "status", "--json", url=db_url)
    notice = json.loads(result.output)["notice"]
    assert "holds 1 tables/views but no dbkit history" in notice
    assert "dbkit baseline REV" in notice


def test_adopt_needs_an_imported_project(tmp_path, db_url):
    project = tmp_path / "plain"
    assert run_cli("init", str(project)).exit_code == 0
    (project / "migrations" / "versions").mkdir(exist_ok=True)
    result = run_cli("--project", str(project), "adopt", url=db_url)
    assert result.exit_code == 2
    assert "no imported revisions" in result.output


def run_psql(pg_server, url: str, sql: str, tmp_path) -> None:
    script = tmp_path / "extra.sql"
    script.write_text(sql)
    run = subprocess.run(
        [psql(pg_server), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", script],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr


def test_flyway_baseline_and_undo_rows_count(tmp_path, db_url, pg_server):
    project = imported("flyway", tmp_path)
    migrate_with_tool("flyway", db_url, 3, pg_server, tmp_path)
    flyway = FIXTURES / "flyway"
    run_psql(pg_server, db_url, (flyway / "V2__order_status_values.sql").read_text(), tmp_path)
    run_psql(pg_server, db_url, (flyway / "U2__order_status_values.sql").read_text(), tmp_path)
    with psycopg.connect(db_url, autocommit=True) as conn:
        # Flyway was baselined at 1.1 on this database, then ran 1.2, then 2 and its undo
        conn.execute("DELETE FROM flyway_schema_history")
        conn.execute(
            "INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
            "script, installed_by, execution_time, success) VALUES "
            "(1, '1.1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', 'f', 0, "
            "true), (2, '1.2', 'x', 'SQL', 'V1_2__x.sql', 'f', 5, true), "
            "(3, '2', 'x', 'SQL', 'V2__x.sql', 'f', 5, true), "
            "(4, '2', 'x', 'UNDO_SQL', 'U2__x.sql', 'f', 5, true), "
            "(5, NULL, 'report', 'SQL', 'R__order_report_view.sql', 'f', 5, true)"
        )
    result = run_cli("--project", str(project), "adopt", url=db_url)
    assert result.exit_code == 0, result.output
    assert "database adopted at revision 0003" in result.output
    assert "Flyway was baselined at 1.1" in result.output
    assert "repeatable migration R__order_report_view.sql in the history ignored" in result.output


def test_goose_down_rows_unapply(tmp_path, db_url, pg_server):
    project = imported("goose", tmp_path)
    migrate_with_tool("goose", db_url, 4, pg_server, tmp_path)
    text = (FIXTURES / "goose" / "00009_order_status_values.sql").read_text()
    run_psql(pg_server, db_url, text.split("-- +goose Down", 1)[1], tmp_path)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO goose_db_version (version_id, is_applied) VALUES (9, false)")
    result = run_cli("--project", str(project), "adopt", url=db_url)
    assert result.exit_code == 0, result.output
    assert version_row(db_url) == ("0003",)


def test_history_table_option_reads_a_renamed_table(tmp_path, db_url, pg_server):
    project = imported("golang-migrate", tmp_path)
    migrate_with_tool("golang-migrate", db_url, 2, pg_server, tmp_path)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA ops")
        conn.execute("ALTER TABLE schema_migrations SET SCHEMA ops")
        conn.execute("ALTER TABLE ops.schema_migrations RENAME TO app_versions")
    missing = run_cli("--project", str(project), "adopt", url=db_url)
    assert missing.exit_code == 2
    assert "table schema_migrations does not exist (pass --history-table" in missing.output
    wrong = run_cli("--project", str(project), "adopt", "--history-table", "ops.nope", url=db_url)
    assert wrong.exit_code == 2 and "table ops.nope does not exist" in wrong.output
    assert nothing_recorded(db_url)
    # the ops schema holds only the history table: the schema check leaves it out
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE ops.app_versions SET SCHEMA public")
        conn.execute("DROP SCHEMA ops")
    result = run_cli(
        "--project", str(project), "adopt", "--history-table", "app_versions", url=db_url
    )
    assert result.exit_code == 0, result.output
    assert version_row(db_url) == ("0002",)
