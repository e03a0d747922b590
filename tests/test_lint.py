"""dbkit lint: its own structural rules, sqlfluff and squawk, on fixture projects and on the
repository's unified schema. No database is needed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from projects import BASIC, Spec, write_project

from dbkit.cli.app import main
from dbkit.lint import tools as lint_tools
from dbkit.lint.rules import RULES, lint_project
from dbkit.plan.sqlrules import statement_reason

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path):
    return write_project(tmp_path / "proj", BASIC)


def dbkit_rules(project: Path) -> set[tuple[str, int | None, str]]:
    """(path, line, rule) of every finding of dbkit's own rules."""
    report = lint_project(project, sources=["dbkit"])
    return {(f.path, f.line, f.rule) for f in report.findings}


def write_revision(project: Path, name: str, revision: str, down: str | None, phase: str) -> None:
    (project / "migrations" / "versions" / f"{name}.py").write_text(
        f"from dbkit.revision import sql_pair\nrevision = {revision!r}\n"
        f"down_revision = {down!r}\nphase = {phase!r}\nupgrade, downgrade = sql_pair(__file__)\n"
    )
    for folder in ("sql", "rollbacks"):
        (project / folder / f"{name}.sql").write_text("SELECT 1;\n")


def test_the_fixture_project_breaks_no_dbkit_rule(project):
    report = lint_project(project, sources=["dbkit"])
    assert report.findings == []
    assert report.ok
    assert report.files_checked == 6


# -- each structural rule --------------------------------------------------------------------


def break_missing_rollback(p):
    (p / "rollbacks" / "0002_orders.sql").unlink()
    return ("rollbacks/0002_orders.sql", None, "dbkit/missing-rollback")


def break_missing_sql(p):
    (p / "sql" / "0002_orders.sql").unlink()
    return ("sql/0002_orders.sql", None, "dbkit/missing-sql")


def break_orphan(p):
    (p / "rollbacks" / "0009_stray.sql").write_text("SELECT 1;\n")
    return ("rollbacks/0009_stray.sql", None, "dbkit/orphan-file")


def break_duplicate(p):
    write_revision(p, "0002_again", "0002", "0001", "core")
    return ("migrations/versions/0002_orders.py", None, "dbkit/duplicate-number")


def break_two_heads(p):
    write_revision(p, "0004_other", "0004", "0001", "core")
    return ("migrations/versions/0004_other.py", None, "dbkit/two-heads")


def break_phase_order(p):
    write_revision(p, "0004_more", "0004", "0003", "core")
    return ("migrations/versions/0004_more.py", None, "dbkit/phase-order")


def break_name(p):
    path = p / "migrations" / "versions" / "0003_orders_index.py"
    path.write_text(path.read_text().replace('revision = "0003"', 'revision = "0007"'))
    return ("migrations/versions/0003_orders_index.py", None, "dbkit/name-mismatch")


def break_chain(p):
    path = p / "migrations" / "versions" / "0003_orders_index.py"
    path.write_text(path.read_text().replace("down_revision = '0002'", "down_revision = '0099'"))
    return ("migrations/versions/0003_orders_index.py", None, "dbkit/broken-chain")


def break_revision_file(p):
    (p / "migrations" / "versions" / "0004_broken.py").write_text("revision = (\n")
    for folder in ("sql", "rollbacks"):
        (p / folder / "0004_broken.sql").write_text("SELECT 1;\n")
    return ("migrations/versions/0004_broken.py", 1, "dbkit/revision-file")


def break_empty_rollback(p):
    (p / "rollbacks" / "0002_orders.sql").write_text("-- nothing to undo?\n")
    return ("rollbacks/0002_orders.sql", None, "dbkit/empty-rollback")


def break_transactional(p):
    path = p / "migrations" / "versions" / "0003_orders_index.py"
    path.write_text(path.read_text().replace("transactional = False\n", ""))
    return ("sql/0003_orders_index.sql", 1, "dbkit/undeclared-non-transactional")


def break_transaction_control(p):
    (p / "sql" / "0002_orders.sql").write_text(
        "-- orders\nBEGIN;\n\nCREATE TABLE orders (id bigint);\n/* done */\nCOMMIT;\n"
    )
    return ("sql/0002_orders.sql", 2, "dbkit/transaction-control")


def break_session_limits(p):
    (p / "sql" / "0002_orders.sql").write_text(
        "CREATE TABLE orders (id bigint);\n-- lift it\nRESET ALL;\n"
    )
    return ("sql/0002_orders.sql", 3, "dbkit/session-limits")


def break_empty_sql(p):
    (p / "sql" / "0002_orders.sql").write_text("-- TODO: write the orders table\n/* later */\n")
    (p / "rollbacks" / "0002_orders.sql").write_text("-- nothing\n")
    return ("sql/0002_orders.sql", None, "dbkit/empty-sql")


def break_check_side_effect(p):
    (p / "validations" / "0001_accounts.post.sql").write_text(
        "-- check: emails_lowercase\nSELECT id FROM accounts WHERE email <> lower(email)\n"
        "FOR UPDATE;\n"
    )
    return ("validations/0001_accounts.post.sql", 1, "dbkit/check-side-effect")


def break_parse(p):
    (p / "sql" / "0002_orders.sql").write_text(
        "CREATE TABLE orders (id bigint);\n\nCREATE TABEL x;\n"
    )
    return ("sql/0002_orders.sql", 3, "dbkit/parse-error")


def break_validation(p):
    (p / "validations" / "0001_accounts.post.sql").write_text(
        "-- check: emails_lowercase\nSELECT id FROM accounts WHERE email <> lower(email);\n"
        "-- check: bad\nDELETE FROM accounts;\n"
    )
    return ("validations/0001_accounts.post.sql", 3, "dbkit/validation-parse")


def break_orphan_validation(p):
    (p / "validations" / "0009_gone.pre.sql").write_text("-- nothing\n")
    return ("validations/0009_gone.pre.sql", None, "dbkit/orphan-validation")


def break_orphan_phase_validation(p):
    (p / "validations" / "phases").mkdir()
    (p / "validations" / "phases" / "core.pre.sql").write_text("-- fine: phase core exists\n")
    (p / "validations" / "phases" / "billing.post.sql").write_text("-- no such phase\n")
    return ("validations/phases/billing.post.sql", None, "dbkit/orphan-validation")


BREAKAGES = [
    break_missing_rollback,
    break_missing_sql,
    break_orphan,
    break_duplicate,
    break_two_heads,
    break_phase_order,
    break_name,
    break_chain,
    break_revision_file,
    break_empty_rollback,
    break_transactional,
    break_transaction_control,
    break_parse,
    break_session_limits,
    break_empty_sql,
    break_check_side_effect,
    break_validation,
    break_orphan_validation,
    break_orphan_phase_validation,
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.__name__.removeprefix("break_"))
def test_each_structural_rule_is_found(project, breakage):
    assert dbkit_rules(project) == set()  # fills the lint cache: the breakage must get past it
    expected = breakage(project)
    found = dbkit_rules(project)
    assert expected in found
    assert expected[2] in RULES
    # nothing else is reported for a single breakage, except where one fault is two findings
    extra = {f for f in found if f != expected}
    allowed = {
        "break_transactional": {
            ("rollbacks/0003_orders_index.sql", 1, "dbkit/undeclared-non-transactional")
        },
        "break_transaction_control": {("sql/0002_orders.sql", 6, "dbkit/transaction-control")},
        "break_duplicate": {("migrations/versions/0002_again.py", None, "dbkit/duplicate-number")}
        - {expected},
    }.get(breakage.__name__, set())
    assert extra <= allowed, extra


def test_every_rule_has_a_test(tmp_path):
    """The rules the breakages above produce, the rule ids the code can emit and RULES are the
    same set: a rule added to the code without a breakage test (or without a RULES entry, or
    left in RULES after its code went) fails here."""
    covered = set()
    for number, breakage in enumerate(BREAKAGES):
        covered.add(breakage(write_project(tmp_path / f"p{number}", BASIC))[2])
    # rules whose fixtures live with their feature's tests: a finding of that rule is asserted
    # (test_import.py; the database rules at the end of this file)
    elsewhere = "".join(
        (REPO / "tests" / name).read_text(encoding="utf-8")
        for name in ("test_import.py", "test_lint.py")
    )
    covered |= set(re.findall(r'f\["rule"\] == "(dbkit/[a-z][a-z-]*)"', elsewhere))
    emitted: set[str] = set()
    for source in (REPO / "dbkit").rglob("*.py"):
        # every "dbkit/<rule>" literal, except the keys of RULES itself
        text = source.read_text(encoding="utf-8")
        emitted |= set(re.findall(r'"(dbkit/[a-z][a-z-]*)"(?!\s*:)', text))
    assert covered == set(RULES)
    assert emitted == set(RULES), emitted ^ set(RULES)


def test_all_problems_are_listed_not_only_the_first(project):
    break_missing_rollback(project)
    break_orphan(project)
    break_two_heads(project)
    break_transaction_control(project)
    found = {rule for _, _, rule in dbkit_rules(project)}
    assert found == {
        "dbkit/missing-rollback",
        "dbkit/orphan-file",
        "dbkit/two-heads",
        "dbkit/transaction-control",
    }


def test_the_duplicate_finding_names_both_files(project):
    break_duplicate(project)
    report = lint_project(project, sources=["dbkit"])
    [finding] = [f for f in report.findings if f.path == "migrations/versions/0002_orders.py"]
    assert finding.message.startswith("duplicate revision number 0002: 0002_again, 0002_orders")
    assert "run `dbkit rebase`" in finding.message


@pytest.mark.parametrize(
    "sql, reason",
    [
        ("CREATE INDEX CONCURRENTLY ix ON t (a)", "CREATE INDEX CONCURRENTLY"),
        ("DROP INDEX CONCURRENTLY ix", "DROP INDEX CONCURRENTLY"),
        ("REINDEX INDEX CONCURRENTLY ix", "REINDEX CONCURRENTLY"),
        ("REINDEX (CONCURRENTLY) TABLE t", "REINDEX CONCURRENTLY"),
        ("VACUUM (ANALYZE) t", "VACUUM"),
        ("CREATE DATABASE other", "CREATE DATABASE"),
        ("ALTER SYSTEM SET work_mem = '64MB'", "ALTER SYSTEM"),
        ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "DETACH PARTITION ... CONCURRENTLY"),
        ("CREATE INDEX ix ON t (a)", None),
        ("ANALYZE t", None),
        ("REINDEX INDEX ix", None),
        ("ALTER TABLE p DETACH PARTITION c", None),
        ("DROP INDEX ix", None),
    ],
)
def test_statements_that_cannot_run_in_a_transaction(sql, reason):
    assert statement_reason(sql) == reason


def test_a_declared_non_transactional_migration_may_vacuum(project):
    (project / "sql" / "0003_orders_index.sql").write_text(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_account ON orders (account_id);\n"
        "VACUUM (ANALYZE) orders;\n"
    )
    assert dbkit_rules(project) == set()


# -- sqlfluff -------------------------------------------------------------------------------------

SQLFLUFF_CONFIG = """\
[sqlfluff]
dialect = postgres
templater = raw
rules = CP01, LT01, LT12

[sqlfluff:rules:capitalisation.keywords]
capitalisation_policy = upper
"""


def test_sqlfluff_findings_come_with_file_and_line(project):
    (project / ".sqlfluff").write_text(SQLFLUFF_CONFIG)
    (project / "sql" / "0002_orders.sql").write_text(
        "CREATE TABLE orders (\n    id bigint,\n    total numeric(12,2)\n);\nselect 1;\n"
    )
    report = lint_project(project, sources=["sqlfluff"])
    found = {(f.path, f.line, f.rule, f.source) for f in report.findings}
    assert ("sql/0002_orders.sql", 3, "sqlfluff/LT01", "sqlfluff") in found
    assert ("sql/0002_orders.sql", 5, "sqlfluff/CP01", "sqlfluff") in found
    assert {f.path for f in report.findings} == {"sql/0002_orders.sql"}
    assert not report.ok
    assert report.tools["sqlfluff"]


def test_sqlfluff_parse_gap_is_a_warning_when_postgres_parses_it(project):
    """sqlfluff's dialect lacks some syntax PostgreSQL has (CREATE CONVERSION here): that is
    sqlfluff's gap, not an error in the migration, so it does not fail the lint."""
    (project / ".sqlfluff").write_text(SQLFLUFF_CONFIG)
    (project / "sql" / "0002_orders.sql").write_text(
        "CREATE CONVERSION myconv FOR 'UTF8' TO 'LATIN1' FROM myfunc;\n"
    )
    report = lint_project(project, sources=["dbkit", "sqlfluff"])
    [gap] = report.findings
    assert (gap.path, gap.line, gap.rule, gap.severity) == (
        "sql/0002_orders.sql",
        1,
        "sqlfluff/PRS",
        "warning",
    )
    assert gap.message.endswith("(sqlfluff cannot parse this; PostgreSQL's parser can)")
    assert report.ok


def test_a_real_syntax_error_is_an_error_for_both(project):
    (project / ".sqlfluff").write_text(SQLFLUFF_CONFIG)
    (project / "sql" / "0002_orders.sql").write_text("CREATE TABEL orders (id bigint);\n")
    report = lint_project(project, sources=["dbkit", "sqlfluff"])
    rules = {(f.rule, f.severity) for f in report.findings}
    assert rules == {("dbkit/parse-error", "error"), ("sqlfluff/PRS", "error")}
    assert not report.ok


def test_fix_applies_sqlfluffs_fixes(project):
    (project / ".sqlfluff").write_text(SQLFLUFF_CONFIG)
    path = project / "sql" / "0002_orders.sql"
    path.write_text("create table orders (id bigint,total numeric(12,2));")
    before = lint_project(project, sources=["sqlfluff"])
    assert {f.rule for f in before.findings} == {"sqlfluff/CP01", "sqlfluff/LT01", "sqlfluff/LT12"}

    after = lint_project(project, fix=True, sources=["sqlfluff"])

    assert after.fixed == ["sql/0002_orders.sql"]
    assert path.read_text() == "CREATE TABLE orders (id bigint, total numeric(12, 2));\n"
    assert after.findings == []
    assert after.ok


# -- the cache of sqlfluff's and squawk's findings ----------------------------------------------


def counting_runs(monkeypatch):
    """How many files sqlfluff and squawk are actually run on, lint after lint."""
    linted: list[str] = []
    many, squawk = lint_tools._sqlfluff_many, lint_tools._squawk_findings

    def counting_many(project, items):
        linted.extend(f"sqlfluff {rel}" for rel, _ in items)
        return many(project, items)

    def counting_squawk(project, command):
        linted.extend(f"squawk {p}" for p in command if p.endswith(".sql"))
        return squawk(project, command)

    monkeypatch.setattr(lint_tools, "_sqlfluff_many", counting_many)
    monkeypatch.setattr(lint_tools, "_squawk_findings", counting_squawk)
    return linted


def test_lint_results_are_cached_by_content_config_and_tool_version(project, monkeypatch):
    linted = counting_runs(monkeypatch)
    path = project / "sql" / "0002_orders.sql"
    first = lint_project(project)
    assert len([x for x in linted if x.startswith("sqlfluff")]) == first.files_checked
    assert (project / ".dbkit" / "cache" / "lint.json").is_file()
    linted.clear()
    assert lint_project(project).findings == first.findings
    assert linted == []  # nothing changed: nothing linted again

    original = path.read_text()
    path.write_text(original + "select 1 ;\n")  # a changed file, and only it, is linted again
    changed = lint_project(project)
    assert linted == ["sqlfluff sql/0002_orders.sql", "squawk sql/0002_orders.sql"]
    assert ("sql/0002_orders.sql", "sqlfluff/LT01") in {(f.path, f.rule) for f in changed.findings}
    linted.clear()
    path.write_text(original)
    assert lint_project(project).findings == first.findings
    assert linted == []  # the old content's results are still there

    (project / ".sqlfluff").write_text(SQLFLUFF_CONFIG)  # a changed configuration
    configured = lint_project(project, sources=["sqlfluff"])
    assert len(linted) == first.files_checked
    linted.clear()
    (project / ".squawk.toml").write_text('excluded_rules = ["prefer-robust-stmts"]\n')
    lint_project(project, sources=["squawk"])
    assert sorted(linted) == sorted(f"squawk {p}" for p in ("sql/0001_accounts.sql",
        "sql/0002_orders.sql", "sql/0003_orders_index.sql", "rollbacks/0001_accounts.sql",
        "rollbacks/0002_orders.sql", "rollbacks/0003_orders_index.sql"))  # fmt: skip
    linted.clear()

    version = lint_tools._installed_version
    monkeypatch.setattr(
        lint_tools, "_installed_version", lambda name: version(name) + ".post-upgrade"
    )
    again = lint_project(project, sources=["sqlfluff"])  # another sqlfluff version
    assert len(linted) == first.files_checked
    assert again.findings == configured.findings


def test_a_warm_lint_imports_neither_sqlfluff_nor_a_sql_parser(project):
    lint_project(project)
    code = (
        "import sys\n"
        "from dbkit.lint.rules import lint_project\n"
        f"report = lint_project({str(project)!r})\n"
        "print(report.ok, sorted({'pglast', 'sqlfluff'} & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True []"
    (project / "sql" / "0002_orders.sql").write_text("CREATE TABLE orders (id bigint);\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "True ['pglast', 'sqlfluff']"  # the changed file is parsed


def test_fix_bypasses_the_cache(project, monkeypatch):
    (project / ".sqlfluff").write_text(SQLFLUFF_CONFIG)
    path = project / "sql" / "0002_orders.sql"
    path.write_text("create table orders (id bigint,total numeric(12,2));")
    assert not lint_project(project, sources=["sqlfluff"]).ok  # cached: three findings
    after = lint_project(project, fix=True, sources=["sqlfluff"])
    assert after.fixed == ["sql/0002_orders.sql"] and after.findings == []
    assert lint_project(project, sources=["sqlfluff"]).findings == []


def test_sqlfluff_in_worker_processes_finds_what_one_process_finds(project):
    (project / ".sqlfluff").write_text(SQLFLUFF_CONFIG)
    for i in range(3):  # the longest last, so the workers (longest first) take them out of order
        (project / "sql" / f"000{i + 1}_x.sql").write_text(f"select {i} ;\n" * (i + 1))
    files = sorted(p.relative_to(project) for p in (project / "sql").glob("*.sql"))
    items = [(rel, (project / rel).read_text()) for rel in files]
    parallel = lint_tools._sqlfluff_many(project, items)
    serial = [(rel, lint_tools._sqlfluff_one(project, rel, text)[0]) for rel, text in items]
    assert sorted(parallel) == serial and len(parallel) == len(files)
    assert any(violations for _, violations in parallel)


# -- squawk ---------------------------------------------------------------------------------------


def squawk_findings(project: Path) -> set[tuple[str, int | None, str]]:
    report = lint_project(project, sources=["squawk"])
    assert report.tools["squawk"], "squawk must be installed for these tests"
    return {(f.path, f.line, f.rule) for f in report.findings}


def test_squawk_flags_unsafe_changes_to_existing_tables(tmp_path):
    project = write_project(
        tmp_path,
        [
            *BASIC,
            Spec(
                "risky",
                "perf",
                "-- existing tables, real traffic\n"
                "ALTER TABLE accounts ADD COLUMN seed float NOT NULL DEFAULT random();\n"
                "CREATE INDEX ix_orders_total ON orders (total);\n",
                "DROP INDEX ix_orders_total;\nALTER TABLE accounts DROP COLUMN seed;\n",
            ),
        ],
    )
    found = squawk_findings(project)
    assert ("sql/0004_risky.sql", 2, "squawk/adding-field-with-default") in found
    assert ("sql/0004_risky.sql", 3, "squawk/require-concurrent-index-creation") in found
    # a rollback may drop what its migration created
    assert not any(rule == "squawk/ban-drop-column" for _, _, rule in found)
    # dbkit sets lock_timeout/statement_timeout itself
    assert not any("timeout" in rule for _, _, rule in found)


def test_squawk_lints_each_migration_in_its_own_transaction_mode(project):
    """A transactional migration is linted as running in a transaction (a failure leaves
    nothing, so IF NOT EXISTS is not needed); one declared `transactional = False` (0003) is
    not, so squawk asks for statements that can be re-run after a failure part way."""
    (project / "sql" / "0003_orders_index.sql").write_text(
        "CREATE INDEX CONCURRENTLY ix_orders_account ON orders (account_id);\n"
    )
    found = squawk_findings(project)
    assert found == {("sql/0003_orders_index.sql", 1, "squawk/prefer-robust-stmts")}
    # 0001 and 0002 create tables without IF NOT EXISTS: fine inside their transactions


def test_squawk_uses_the_projects_config_with_dbkits_exclusions(project):
    (project / "sql" / "0002_orders.sql").write_text(
        "CREATE TABLE orders (id bigint, qty int, label varchar(20));\n"
    )
    rules = {rule for _, _, rule in squawk_findings(project)}
    assert {"squawk/prefer-bigint-over-int", "squawk/prefer-text-field"} <= rules

    (project / ".squawk.toml").write_text('excluded_rules = ["prefer-bigint-over-int"]\n')
    rules = {rule for _, _, rule in squawk_findings(project)}
    assert "squawk/prefer-bigint-over-int" not in rules
    assert "squawk/prefer-text-field" in rules
    assert not any("timeout" in rule for rule in rules)


def test_a_missing_squawk_is_an_error_not_a_silent_pass(project, monkeypatch):
    monkeypatch.setattr(lint_tools, "squawk_executable", lambda: None)
    report = lint_project(project, sources=["squawk"])
    [finding] = report.findings
    assert finding.rule == "squawk/not-installed"
    assert "pip install squawk-cli" in finding.message
    assert not report.ok


# -- the command ----------------------------------------------------------------------------------


def run(project: Path, *args: str):
    return CliRunner().invoke(
        main, ["--project", str(project), "lint", *args], env={"NO_COLOR": "1"}
    )


def test_cli_groups_findings_by_file_and_fails(project):
    break_missing_rollback(project)
    break_transaction_control(project)
    result = run(project, "--only", "dbkit")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "rollbacks/0002_orders.sql"
    assert (
        lines[1].split()
        == ["-", "error", "dbkit/missing-rollback", "rollback", "file"] + lines[1].split()[5:]
    )
    assert "sql/0002_orders.sql" in lines
    assert any(line.split()[:3] == ["2", "error", "dbkit/transaction-control"] for line in lines)
    assert "dbkit: error: lint: 3 errors, 0 warnings in 2 files" in result.output


def test_cli_clean_project_exits_zero(project):
    result = run(project, "--only", "dbkit", "--only", "squawk")
    assert result.exit_code == 0, result.output
    # No check files, nothing to EXPLAIN: the big-table rule has nothing to say.
    assert result.output == "lint: clean (6 files checked)\n"


def test_cli_json_shape(project):
    break_empty_rollback(project)
    result = run(project, "--only", "dbkit", "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert set(data) == {
        "command",
        "ok",
        "exit_code",
        "project",
        "files_checked",
        "errors",
        "warnings",
        "fixed",
        "protected",
        "protected_because",
        "changed_since",
        "tools",
        "big_table_scans",
        "findings",
    }
    assert data["big_table_scans"] is None  # the project has no checks to EXPLAIN
    assert data["ok"] is False and data["errors"] == 1 and data["warnings"] == 0
    assert data["command"] == "lint" and data["exit_code"] == 1
    assert data["findings"] == [
        {
            "path": "rollbacks/0002_orders.sql",
            "line": None,
            "rule": "dbkit/empty-rollback",
            "message": "the rollback has no statement while sql/0002_orders.sql has 1: "
            "rolling back would leave its changes in place",
            "severity": "error",
            "source": "dbkit",
        }
    ]
    assert set(data["tools"]) == {"dbkit"}


def test_lint_on_a_project_made_by_init_and_new(tmp_path):
    from dbkit.plan.scaffold import init_project, new_migration

    init_project(tmp_path)
    new_migration(tmp_path, "accounts", "core")
    report = lint_project(tmp_path)
    # the new migration's SQL is still to be written: a warning, not an error
    assert [(f.path, f.rule, f.severity) for f in report.findings] == [
        ("sql/0001_accounts.sql", "dbkit/empty-sql", "warning")
    ]
    assert report.ok
    (tmp_path / "sql" / "0001_accounts.sql").write_text("CREATE TABLE accounts (id bigint);\n")
    (tmp_path / "rollbacks" / "0001_accounts.sql").write_text("DROP TABLE accounts;\n")
    assert lint_project(tmp_path).findings == []


# -- the repository's own unified schema ---------------------------------------------------


def test_the_unified_schema_is_clean():
    """sqlfluff (formatting), squawk (migration safety) and dbkit's rules on the repository's
    own sql/, rollbacks/ and validations/: the one place the suite lints them (it fills the
    repository's lint cache, which `make test-gate` and `make lint` then use)."""
    report = lint_project(REPO)
    listing = "\n".join(f"{f.path}:{f.line} {f.rule} {f.message}" for f in report.findings)
    assert report.findings == [], listing
    assert set(report.tools) == {"dbkit", "sqlfluff", "squawk"}
    assert all(report.tools.values())


# -- with a database: dbkit/check-scans-big-table --------------------------------------------

BIG_CHECKS = """\
-- check: orders_of_account_42
-- A lookup by account: without ix_orders_account it reads every order.
SELECT o.id
FROM orders AS o
WHERE o.account_id = 42 AND o.total < 0;

-- check: accounts_without_email
SELECT a.id
FROM accounts AS a
WHERE a.id = 7 AND a.email = '';

-- check: first_order_is_positive
-- The first order by id: an unfiltered scan of the primary key under a Limit reads one entry.
SELECT o.id
FROM orders AS o
WHERE o.id = (SELECT x.id FROM orders AS x ORDER BY x.id LIMIT 1) AND o.total < 0;

-- check: refunds_are_positive
SELECT r.id
FROM refunds AS r
WHERE r.amount <= 0;
"""


def lint_with(project: Path, url: str | None, *args: str):
    base = ["--project", str(project)] + (["--url", url] if url else [])
    env = {"DBKIT_DATABASE_URL": None, "DATABASE_URL": None, "DBKIT_ENV": None}
    return CliRunner().invoke(main, [*base, "lint", "--only", "dbkit", *args], env=env)


def test_a_check_that_reads_a_big_table_is_named_and_an_index_makes_it_go(tmp_path, db_url):
    project = write_project(tmp_path / "proj", BASIC)
    (project / "dbkit.toml").write_text("big_table_rows = 2000\n")
    base = ["--project", str(project), "--url", db_url]
    assert CliRunner().invoke(main, [*base, "migrate", "--to", "0002"]).exit_code == 0
    (project / "validations" / "phases").mkdir()
    (project / "validations" / "phases" / "core.post.sql").write_text(BIG_CHECKS)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (email) SELECT 'a' || g FROM generate_series(1, 100) g")
        conn.execute(
            "INSERT INTO orders (account_id, total) "
            "SELECT 1 + g % 100, g FROM generate_series(1, 5000) AS g"
        )
        conn.execute("ANALYZE accounts")
        conn.execute("ANALYZE orders")

    result = lint_with(project, db_url)
    assert result.exit_code == 0, result.output  # a warning: reported, not failing
    assert "validations/phases/core.post.sql" in result.output
    assert (
        "check orders_of_account_42 would read all of public.orders (about 5,000 rows; Seq Scan;"
        " big_table_rows = 2,000)" in result.output
    )
    assert "accounts" not in result.output.split("orders_of_account_42")[1].split("\n")[0]
    assert "1 not planned" in result.output  # refunds: no such table here
    report = json.loads(lint_with(project, db_url, "--json").output)
    found = [f for f in report["findings"] if f["rule"] == "dbkit/check-scans-big-table"]
    assert [(f["path"], f["line"], f["severity"]) for f in found] == [
        ("validations/phases/core.post.sql", 1, "warning")
    ]
    assert report["big_table_scans"]["explained"] == 3
    assert report["big_table_scans"]["threshold"] == 2000

    # The index the application needs anyway (0003): the same check is index-driven.
    assert CliRunner().invoke(main, [*base, "migrate"]).exit_code == 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ANALYZE orders")
    after = lint_with(project, db_url)
    assert after.exit_code == 0, after.output
    assert "check-scans-big-table  " not in after.output
    assert "dbkit/check-scans-big-table: 3 checks and key queries explained" in after.output

    # Under the threshold nothing is big.
    (project / "dbkit.toml").write_text("big_table_rows = 1000000\n")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP INDEX ix_orders_account")
    assert "would read all" not in lint_with(project, db_url).output


def test_without_a_database_the_big_table_rule_is_skipped_in_one_line(tmp_path):
    project = write_project(tmp_path / "proj", BASIC)
    quiet = lint_with(project, None)
    assert "check-scans-big-table" not in quiet.output  # no checks: nothing to EXPLAIN
    (project / "validations" / "phases").mkdir(parents=True)
    (project / "validations" / "phases" / "core.post.sql").write_text(BIG_CHECKS)
    result = lint_with(project, None)
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.output.splitlines() if "check-scans-big-table" in line]
    assert skipped == [
        "dbkit/check-scans-big-table skipped: no database (give --url or --env, or configure one)"
    ]
    down = lint_with(project, "postgresql://nobody@127.0.0.1:9/nowhere?connect_timeout=2")
    assert down.exit_code == 0, down.output
    assert "dbkit/check-scans-big-table skipped: cannot connect" in down.output
    assert "not linted" not in down.output
