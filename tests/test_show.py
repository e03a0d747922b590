"""dbkit show REV: one migration in one view, offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from projects import BASIC, write_project

from dbkit.cli.app import main
from dbkit.plan.show import show

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path) -> Path:
    root = write_project(tmp_path / "proj", BASIC)
    (root / "validations" / "0002_orders.pre.sql").write_text(
        "-- check: accounts_exist\n-- Orders need somewhere to point.\n"
        "SELECT 1 AS missing WHERE to_regclass('accounts') IS NULL;\n"
    )
    (root / "validations" / "0002_orders.post.sql").write_text(
        "-- check: orders_total_positive\nSELECT id FROM orders WHERE total < 0;\n"
    )
    (root / "validations" / "phases").mkdir()
    (root / "validations" / "phases" / "perf.post.sql").write_text(
        "-- check: index_valid\nSELECT 1 FROM pg_index WHERE NOT indisvalid;\n"
    )
    (root / "dbkit.toml").write_text('lock_timeout = "2s"\n')
    return root


def run_cli(project: Path, *args: str):
    return CliRunner().invoke(
        main, ["--project", str(project), *args], env={"NO_COLOR": "1"}, catch_exceptions=False
    )


@pytest.mark.smoke
def test_show_describes_a_revision(project):
    view = show(project, "0002")
    assert (view.revision, view.name, view.phase) == ("0002", "0002_orders", "core")
    assert view.description == "Orders."
    assert (view.position, view.total) == (2, 3)
    assert (view.down_revision, view.next_revision) == ("0001", "0003")
    assert view.transactional is True
    assert view.options == {
        "lock_timeout": {"value": "2s", "source": "project"},
        "statement_timeout": {"value": "0", "source": "default"},
    }
    assert view.up_sql == (project / "sql" / "0002_orders.sql").read_text()
    assert view.down_sql == "DROP TABLE orders;\n"
    assert view.files["down"] == "rollbacks/0002_orders.sql"
    assert [(c.name, c.description) for c in view.pre_checks] == [
        ("accounts_exist", "Orders need somewhere to point.")
    ]
    assert view.post_checks[0].query == "SELECT id FROM orders WHERE total < 0"
    assert view.post_checks[0].location == "validations/0002_orders.post.sql:1"
    assert view.phase_pre_checks == view.phase_post_checks == []
    assert len(view.checksum) == 64


def test_show_accepts_names_and_head_and_shows_phase_checks(project):
    view = show(project, "head")
    assert view.name == "0003_orders_index"
    assert view.transactional is False
    assert [c.name for c in view.phase_post_checks] == ["index_valid"]
    assert show(project, "0001_acc").revision == "0001"


def test_cli_text_view(project):
    result = run_cli(project, "show", "0002_orders")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.splitlines()[0] == "0002  0002_orders  [phase core]  (2 of 3)"
    assert "parent:            0001" in out
    assert "lock_timeout:      2s (project setting)" in out
    assert "statement_timeout: 0 (dbkit default)" in out
    assert "-- up: sql/0002_orders.sql" in out
    assert "CONSTRAINT fk_orders_account FOREIGN KEY (account_id) REFERENCES accounts (id)" in out
    assert "-- down: rollbacks/0002_orders.sql" in out
    assert "DROP TABLE orders;" in out
    assert "check: accounts_exist  -- Orders need somewhere to point." in out
    assert "check: orders_total_positive  (validations/0002_orders.post.sql:1)" in out

    head = run_cli(project, "show", "head").output
    assert "transactional:     no (runs statement by statement outside one)" in head
    assert "-- phase perf post-checks" in head


def test_cli_json_view(project):
    result = run_cli(project, "show", "0002", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {
        "revision",
        "name",
        "phase",
        "description",
        "transactional",
        "options",
        "checksum",
        "files",
        "up_sql",
        "down_sql",
        "pre_checks",
        "post_checks",
    } <= set(data)
    assert data["post_checks"][0]["name"] == "orders_total_positive"


def test_unknown_revision_and_base_are_usage_errors(project):
    unknown = run_cli(project, "show", "0042")
    assert unknown.exit_code == 2
    assert "unknown revision '0042'" in unknown.output
    base = run_cli(project, "show", "base")
    assert base.exit_code == 2
    assert "base is not a revision" in base.output


def test_show_is_offline_and_imports_no_driver(project):
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from dbkit.cli.app import main\n"
        f"r = CliRunner().invoke(main, ['--project', {str(project)!r}, "
        "'--url', 'postgresql://nobody@127.0.0.1:1/none', 'show', '0002'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('psycopg' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_show_on_the_unified_schema():
    view = show(ROOT, "head")
    assert view.position == view.total
    assert view.up_sql and view.down_sql
