"""Every command's ``--json`` against the contract in docs/json.md and docs/schemas/: one
envelope (``command``, ``ok``, ``exit_code``, the payload, ``error`` when failing), on success
and on failure, against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import click
import jsonschema
import psycopg
import pytest
from click.testing import CliRunner
from projects import ACCOUNTS, BASIC, Spec, write_project

from dbkit.cli import main

SCHEMAS = Path(__file__).parent.parent / "docs" / "schemas"
ENVELOPE = json.loads((SCHEMAS / "envelope.json").read_text())


def _schema(command: str) -> dict:
    return json.loads((SCHEMAS / f"{command.replace(' ', '-')}.json").read_text())


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.all_commands().items():
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix}{name} ")
        else:
            names.append(f"{prefix}{name}")
    return names


def run(*args: str) -> tuple[dict, int]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"dbkit {' '.join(args)} printed no JSON: {result.output}")
    return data, result.exit_code


def check(data: dict, code: int, command: str) -> None:
    jsonschema.validate(data, ENVELOPE)
    assert data["command"] == command
    assert data["exit_code"] == code
    assert data["ok"] is (code == 0)
    if "error" not in data:
        jsonschema.validate(data, _schema(command))


def test_every_command_has_json_and_a_schema():
    for command in _commands(main):
        cmd = main
        for part in command.split():
            cmd = cmd.get_command(None, part)
        assert "--json" in {opt for p in cmd.params for opt in getattr(p, "opts", [])}, command
        assert (SCHEMAS / f"{command.replace(' ', '-')}.json").is_file(), command


@pytest.fixture
def world(tmp_path, make_db):
    """A project at 0002 in one database, a fresh database, and a Flyway directory."""
    project = write_project(tmp_path / "proj", BASIC)
    url, fresh, spare = make_db(), make_db(), make_db()
    flyway = tmp_path / "flyway"
    flyway.mkdir()
    (flyway / "V1__init.sql").write_text("CREATE TABLE t (id int PRIMARY KEY);\n")
    return project, url, fresh, flyway, spare


def test_every_command_answers_in_the_envelope(world, tmp_path):
    project, url, fresh, flyway, spare = world
    p = ["--project", str(project)]
    db = [*p, "--url", url]
    seen = set()

    def ok(command: str, *args: str, code: int = 0) -> dict:
        data, exit_code = run(*args, "--json")
        assert exit_code == code, data
        check(data, code, command)
        seen.add(command)
        return data

    ok("init", "init", str(tmp_path / "fresh"))
    ok("new", "--project", str(tmp_path / "fresh"), "new", "add notes", "--phase", "core")
    ok("sql", *p, "sql", "up", "--to", "0002")
    ok("show", *p, "show", "0001")
    ok("lint", *p, "lint", "--only", "dbkit")
    ok("info", *db, "info")
    assert ok("migrate", *db, "migrate", "--to", "0002")["to_revision"] == "0002"
    assert ok("status", *db, "status")["current_revision"] == "0002"
    assert [r["revision"] for r in ok("history", *db, "history")["rows"]] == ["0001", "0002"]
    ok("validate", *db, "validate")
    ok("rollback", *db, "rollback", "--steps", "1")
    ok("repair", *db, "repair")
    ok("baseline", *p, "--url", fresh, "baseline", "0001", "--force")
    ok("drift", *db, "drift")
    ok("verify", *p, "verify", "--url", url)
    ok("rebase", *p, "rebase")
    ok("import", "import", "--from", "flyway", str(flyway), "--into", str(tmp_path / "imp"))
    (project / "fleet.toml").write_text(f'[[targets]]\nname = "one"\nurl = "{spare}"\n')
    ok("fleet status", *p, "fleet", "status")
    ok("fleet migrate", *p, "fleet", "migrate", "--to", "0001")
    ok("fleet validate", *p, "fleet", "validate")
    ok("fleet drift", *p, "fleet", "drift")
    ok("fleet rollback", *p, "fleet", "rollback", "--steps", "1")
    ok("migrate", *p, "--url", spare, "migrate")  # synth fills a database at head
    ok("synth", *p, "--url", spare, "synth", "--rows", "accounts=3", "--seed", "1")
    ok("db status", *p, "db", "status")
    ok("db stop", *p, "db", "stop")
    # failures: the error envelope
    data, code = run(*p, "db", "url", "--json")
    assert code == 1 and data["error"]["type"] == "EmbeddedServerError"
    check(data, 1, "db url")
    seen.add("db url")
    data, code = run(*db, "adopt", "--json")
    assert code == 2 and "no imported revisions" in data["error"]["message"]
    check(data, 2, "adopt")
    seen.add("adopt")
    # `db start` starts a server (tests/test_embedded.py covers it); its schema is checked
    # against the payload its api function returns.
    from dbkit.api import ServerChange

    payload = ServerChange("db start", running=True, was_running=False, url="postgresql://x")
    jsonschema.validate(
        {"command": "db start", "ok": True, "exit_code": 0, **payload.to_dict()},
        _schema("db start"),
    )
    seen.add("db start")
    # `synth --cleanup` needs the unified schema's cleanup function (tests/test_synth.py runs
    # it); its shape is checked against the payload its result object prints.
    from dbkit.api import SynthResult

    cleanup = SynthResult("postgresql://x", None, [], cleanup=True, removed=3)
    cleanup.removed_by_table = {"public.accounts": 3}
    jsonschema.validate(
        {"command": "synth", "ok": True, "exit_code": 0, **cleanup.to_dict()}, _schema("synth")
    )
    assert seen == set(_commands(main))


def test_a_failed_migration_reports_its_error_in_the_envelope(world):
    project, url, *_ = world
    (project / "sql" / "0002_orders.sql").write_text(
        "CREATE TABLE broken (id int REFERENCES nope);\n"
    )
    data, code = run("--project", str(project), "--url", url, "migrate", "--json")
    assert code == 1
    check(data, 1, "migrate")
    assert data["error"]["type"] == "MigrationFailed"
    assert data["error"]["sqlstate"] == "42P01"
    assert data["error"]["location"] == "sql/0002_orders.sql:1"
    assert [s["revision"] for s in data["completed"]] == ["0001"]


def test_usage_errors_use_the_envelope_too(world):
    project, url, *_ = world
    data, code = run("--project", str(project), "--url", url, "rollback", "--steps", "x", "--json")
    assert code == 2
    check(data, 2, "rollback")
    assert data["error"]["type"] == "BadParameter"


def test_outputs_with_every_nested_shape_match_their_schemas(tmp_path, make_db):
    """The payload schemas describe nested objects and list items: run the commands where
    those lists are not empty (steps skipped by a dry run, checks that find rows with their
    sample, the performance guard, catalog differences, lint findings, verify failures,
    edited and pending migrations, files an import leaves out) and validate what they print."""
    tuning = Spec(
        "accounts_email_index",
        "tuning",
        "CREATE INDEX ix_accounts_email ON accounts (email);\n",
        "DROP INDEX ix_accounts_email;\n",
    )
    project = write_project(tmp_path / "proj", [*BASIC, tuning])
    (project / "validations" / "0001_accounts.post.sql").write_text(
        "-- check: no_blank_emails\nSELECT id, email FROM accounts WHERE email = '';\n"
    )
    (project / "validations" / "phases").mkdir()
    (project / "validations" / "phases" / "tuning.perf.sql").write_text(
        "-- key-query: account_by_email\nSELECT id FROM accounts WHERE email = 'a@example.com';\n"
    )
    url = make_db()
    db = ["--project", str(project), "--url", url]

    def ok(command: str, *args: str, code: int = 0) -> dict:
        data, exit_code = run(*args, "--json")
        assert exit_code == code, data
        check(data, code, command)
        return data

    dry = ok("migrate", *db, "migrate", "--dry-run")
    assert {s["outcome"] for s in dry["steps"]} >= {"skipped"}
    run_ = ok("migrate", *db, "migrate")
    assert run_["checks"] and run_["performance_guard"] and run_["steps"]
    assert run_["performance_guard"][0]["before"]["runs_ms"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (email) VALUES ('')")
    failed = ok("validate", *db, "validate", "--phase", "core", code=3)
    assert failed["checks"][0]["rows_found"] == 1 and failed["checks"][0]["sample"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE stray (id int)")
        conn.execute("ALTER TABLE accounts ALTER COLUMN note SET DEFAULT 'changed'")
        conn.execute("DROP TRIGGER trg_accounts_touch ON accounts")
    drift = ok("drift", *db, "drift", code=4)
    assert drift["missing"] and drift["extra"] and drift["changed"]
    ok("rollback", *db, "rollback", "--steps", "1")
    (project / "sql" / "0001_accounts.sql").write_text(
        (project / "sql" / "0001_accounts.sql").read_text() + "-- edited\n"
    )
    status = ok("status", *db, "status", code=4)
    assert status["changed"] and status["pending"]
    info = ok("info", *db, "info")
    assert {m["checksum"] for m in info["migrations"]} >= {"edited", None}
    history = ok("history", *db, "history")
    assert {r["direction"] for r in history["rows"]} == {"up", "down"}
    (project / "rollbacks" / "0002_orders.sql").write_text("SELECT 1;\n")  # leaves orders
    linted = write_project(tmp_path / "linted", [ACCOUNTS])
    (linted / "rollbacks" / "0001_accounts.sql").unlink()
    (linted / "sql" / "0001_accounts.sql").write_text("-- nothing yet\n")
    lint = ok("lint", "--project", str(linted), "lint", "--only", "dbkit", code=1)
    assert lint["findings"]
    verify = ok("verify", "--project", str(project), "verify", "--url", url, "--keep-going", code=3)
    assert verify["failures"] and verify["failures"][0]["differences"]
    flyway = tmp_path / "flyway"
    flyway.mkdir()
    (flyway / "V1__init.sql").write_text("CREATE TABLE t (id int PRIMARY KEY);\n")
    (flyway / "U1__init.sql").write_text("DROP TABLE t;\n")
    (flyway / "notes.txt").write_text("not a migration\n")
    (flyway / "V2_bad_name.sql").write_text("SELECT 1;\n")
    into = str(tmp_path / "imported")
    imported = ok("import", "import", "--from", "flyway", str(flyway), "--into", into)
    assert imported["ignored"] or imported["not_importable"]
