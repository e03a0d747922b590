"""Several people, several branches: timestamp ids, `dbkit rebase`, forked plans read-only.

Branches are real git branches of a small project in a temp directory, merged with git.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dbkit.cli import main


def dbkit(project: Path, *args: str, env: dict | None = None, input: str | None = None):
    environment = {
        "DBKIT_DATABASE_URL": "",
        "DATABASE_URL": "",
        "DBKIT_ENV": "",
        "NO_COLOR": "1",
        **(env or {}),
    }
    return CliRunner().invoke(
        main, ["--project", str(project), *args], env=environment, input=input
    )


def git(project: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(project), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def add_migration(project: Path, name: str, up: str, down: str, phase: str = "core") -> str:
    result = dbkit(project, "new", name, "--phase", phase)
    assert result.exit_code == 0, result.output
    stem = Path(result.output.splitlines()[0].split()[-1]).stem
    with (project / "sql" / f"{stem}.sql").open("a") as f:
        f.write(up)
    with (project / "rollbacks" / f"{stem}.sql").open("a") as f:
        f.write(down)
    return stem


def forked_repo(tmp_path: Path, ids: str = "sequential") -> Path:
    """main: base table, then `add a`; branch feature (from base): `add b`; feature merges
    main, so the plan has two migrations after the base."""
    project = tmp_path / "team"
    assert dbkit(project, "init", str(project), "--ids", ids).exit_code == 0
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.email", "dev@example.com")
    git(project, "config", "user.name", "dev")
    add_migration(project, "base table", "CREATE TABLE t (id int);\n", "DROP TABLE t;\n")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "base")
    git(project, "checkout", "-qb", "feature")
    add_migration(
        project, "add b", "ALTER TABLE t ADD COLUMN b int;\n", "ALTER TABLE t DROP COLUMN b;\n"
    )
    git(project, "add", "-A")
    git(project, "commit", "-qm", "b")
    git(project, "checkout", "-q", "main")
    if ids == "timestamp":
        time.sleep(2.05)  # two seconds on: the ids differ (new bumps a clash by one)
    add_migration(
        project, "add a", "ALTER TABLE t ADD COLUMN a int;\n", "ALTER TABLE t DROP COLUMN a;\n"
    )
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a")
    git(project, "checkout", "-q", "feature")
    git(project, "merge", "-q", "main", "-m", "merge main")
    return project


def names(project: Path) -> list[str]:
    return sorted(p.stem for p in (project / "migrations" / "versions").glob("*.py"))


def all_files(project: Path) -> list[str]:
    return sorted(
        str(p.relative_to(project))
        for d in ("migrations/versions", "sql", "rollbacks", "validations")
        for p in (project / d).glob("*")
        if p.name != ".gitkeep"
    )


# -- timestamp ids ----------------------------------------------------------------------------


def test_init_ids_timestamp_is_recorded_and_new_uses_utc_timestamps(tmp_path):
    project = tmp_path / "ts"
    result = dbkit(project, "init", str(project), "--ids", "timestamp")
    assert result.exit_code == 0, result.output
    assert re.search(r'^ids = "timestamp"$', (project / "dbkit.toml").read_text(), re.M)
    first = add_migration(project, "one", "SELECT 1;\n", "SELECT 1;\n")
    second = add_migration(project, "two", "SELECT 1;\n", "SELECT 1;\n")
    assert re.fullmatch(r"\d{14}_one", first) and re.fullmatch(r"\d{14}_two", second)
    assert int(second[:14]) > int(first[:14])  # increasing even within one second
    text = (project / "migrations" / "versions" / f"{second}.py").read_text()
    assert f'down_revision = "{first[:14]}"' in text


def test_a_bad_ids_setting_is_refused(tmp_path):
    project = tmp_path / "bad"
    assert dbkit(project, "init", str(project)).exit_code == 0
    (project / "dbkit.toml").write_text('ids = "uuid"\n')
    result = dbkit(project, "new", "x", "--phase", "core")
    assert result.exit_code == 2
    assert "dbkit: error: ids = 'uuid' is not a revision id style" in result.output


# -- forked plans -------------------------------------------------------------------------------


def test_migrate_refuses_a_forked_plan_and_points_to_rebase(tmp_path, db_url):
    project = forked_repo(tmp_path)
    result = dbkit(project, "--url", db_url, "migrate")
    assert result.exit_code == 1
    assert "duplicate revision number 0002: 0002_add_a, 0002_add_b" in result.output
    assert "run `dbkit rebase`" in result.output
    with psycopg.connect(db_url) as conn:  # nothing was created
        assert conn.execute("SELECT to_regclass('dbkit.history')").fetchone()[0] is None


def test_read_only_commands_work_on_a_forked_plan(tmp_path, db_url):
    project = forked_repo(tmp_path, ids="timestamp")
    result = dbkit(project, "--url", db_url, "migrate")
    assert result.exit_code == 1 and "two heads" in result.output
    # a database migrated on main before the merge, at the base migration
    base = names(project)[0]
    git(project, "checkout", "-q", "main")
    assert dbkit(project, "--url", db_url, "migrate", "--to", base[:14]).exit_code == 0
    git(project, "checkout", "-q", "feature")

    status = dbkit(project, "--url", db_url, "status", "--json")
    assert status.exit_code == 0, status.output
    data = json.loads(status.output)
    assert data["current_revision"] == base[:14]
    assert sorted(m["name"] for m in data["pending"]) == names(project)[1:]
    assert len(data["heads"]) == 2 and "two heads" in data["plan_problems"][0]
    text = dbkit(project, "--url", db_url, "status")
    assert "(the plan forks)" in text.output and "plan:      two heads" in text.output

    shown = dbkit(project, "show", names(project)[1])
    assert shown.exit_code == 0 and names(project)[1] in shown.output
    head = dbkit(project, "show", "head")
    assert head.exit_code == 2 and "several heads" in head.output
    assert dbkit(project, "--url", db_url, "history").exit_code == 0
    lint = dbkit(project, "lint", "--only", "dbkit")
    assert lint.exit_code == 1 and "dbkit/two-heads" in lint.output
    # the offline script needs one order: it refuses, pointing to rebase
    script = dbkit(project, "sql")
    assert script.exit_code == 1 and "run `dbkit rebase`" in script.output


# -- rebase -------------------------------------------------------------------------------------


def test_rebase_onto_a_git_ref_renumbers_and_renames_the_file_set(tmp_path, db_url):
    project = forked_repo(tmp_path)
    before = all_files(project)
    dry = dbkit(project, "rebase", "--onto", "main", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would move 0002_add_b -> 0003_add_b (follows 0002, was 0001)" in dry.output
    assert all_files(project) == before  # dry run wrote nothing

    result = dbkit(project, "rebase", "--onto", "main")
    assert result.exit_code == 0, result.output
    assert names(project) == ["0001_base_table", "0002_add_a", "0003_add_b"]
    moved = [f for f in all_files(project) if "add_b" in f]
    assert moved == [
        "migrations/versions/0003_add_b.py",
        "rollbacks/0003_add_b.sql",
        "sql/0003_add_b.sql",
        "validations/0003_add_b.post.sql",
        "validations/0003_add_b.pre.sql",
    ]
    revision = (project / "migrations/versions/0003_add_b.py").read_text()
    assert 'revision = "0003"' in revision and 'down_revision = "0002"' in revision
    assert (project / "sql/0003_add_b.sql").read_text().startswith("-- 0003_add_b: Add b.")
    assert "ADD COLUMN b" in (project / "sql/0003_add_b.sql").read_text()

    migrated = dbkit(project, "--url", db_url, "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert "database now at 0003" in migrated.output
    assert dbkit(project, "rebase", "--onto", "main").output.strip() == (
        "nothing to rebase: the plan is one chain"
    )


def test_rebase_move_names_the_branch_and_keeps_increasing_timestamps(tmp_path):
    project = forked_repo(tmp_path, ids="timestamp")
    base, first, second = names(project)  # add b was created before add a: b < a
    assert first.endswith("add_b") and second.endswith("add_a")
    result = dbkit(project, "rebase", "--move", first, "--json")
    assert result.exit_code == 0, result.output
    move = json.loads(result.output)["moves"][0]
    assert move["old_name"] == first and move["new_parent"] == second[:14]
    assert int(move["new_revision"]) > int(second[:14])  # renumbered: it must follow add a
    assert dbkit(project, "lint", "--only", "dbkit").exit_code == 0

    project2 = forked_repo(tmp_path / "again", ids="timestamp")
    base, first, second = names(project2)
    result = dbkit(project2, "rebase", "--move", second)  # move add a onto add b: id is kept
    assert result.exit_code == 0, result.output
    assert names(project2) == [base, first, second]
    text = (project2 / "migrations/versions" / f"{second}.py").read_text()
    assert f'down_revision = "{first[:14]}"' in text


def test_rebase_applied_in_moves_the_branch_no_database_has_applied(tmp_path, db_url):
    project = forked_repo(tmp_path)
    # the shared database ran main's history: base and add a
    git(project, "checkout", "-q", "main")
    assert dbkit(project, "--url", db_url, "migrate").exit_code == 0
    git(project, "checkout", "-q", "feature")
    refused = dbkit(project, "rebase", "--move", "0002_add_a", "--applied-in", db_url)
    assert refused.exit_code == 2
    assert "0002_add_a is applied in" in refused.output and "s3cr3t" not in refused.output
    assert names(project) == ["0001_base_table", "0002_add_a", "0002_add_b"]

    with (project / "dbkit.toml").open("a") as f:
        f.write('\n[env.staging]\nurl = "${STAGING_URL}"\n')
    result = dbkit(project, "rebase", "--applied-in", "staging", env={"STAGING_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "checked postgresql://" in result.output
    assert names(project) == ["0001_base_table", "0002_add_a", "0003_add_b"]
    migrated = dbkit(project, "--url", db_url, "migrate")
    assert migrated.exit_code == 0 and "up   0003_add_b" in migrated.output


def test_rebase_errors(tmp_path):
    project = forked_repo(tmp_path)
    result = dbkit(project, "rebase")
    assert result.exit_code == 2 and "say which migrations move" in result.output
    result = dbkit(project, "rebase", "--move", "0009")
    assert result.exit_code == 2 and "no migration match '0009'" in result.output
    result = dbkit(project, "rebase", "--onto", "no-such-branch")
    assert result.exit_code == 2 and "unknown git ref 'no-such-branch'" in result.output
    result = dbkit(project, "rebase", "--onto", "feature")
    assert result.exit_code == 2 and "already in 'feature'" in result.output
    assert names(project) == ["0001_base_table", "0002_add_a", "0002_add_b"]


def test_rebase_refuses_to_split_a_phase_and_changes_nothing(tmp_path):
    project = forked_repo(tmp_path)
    # make add a open a new phase: moving add b after it would resume phase core
    path = project / "migrations/versions/0002_add_a.py"
    path.write_text(path.read_text().replace('phase = "core"', 'phase = "extra"'))
    before = {f: (project / f).read_text() for f in all_files(project)}
    result = dbkit(project, "rebase", "--move", "0002_add_b")
    assert result.exit_code == 1
    assert "rebase would leave a broken plan, so nothing was changed" in result.output
    assert {f: (project / f).read_text() for f in all_files(project)} == before


@pytest.fixture(autouse=True)
def _no_git_prompts(monkeypatch):
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")


# -- lint: a new project is quiet, --changed, --fix leaves applied files alone -------------------

CREATE = """\
CREATE TABLE widgets (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name varchar(80) NOT NULL,
    amount integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX widgets_name_idx ON widgets (name);
"""
SLOPPY = "create table gadgets (id int);\n"  # lowercase keywords: sqlfluff CP01, fixable


def linear_repo(tmp_path: Path) -> Path:
    """main: one committed migration with sloppy (fixable) SQL; branch work checked out."""
    project = tmp_path / "lintrepo"
    assert dbkit(project, "init", str(project)).exit_code == 0
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.email", "dev@example.com")
    git(project, "config", "user.name", "dev")
    add_migration(project, "gadgets", SLOPPY, "DROP TABLE gadgets;\n")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "gadgets")
    git(project, "checkout", "-qb", "work")
    return project


def test_init_new_and_a_plain_create_table_lint_clean(tmp_path):
    project = tmp_path / "quiet"
    assert dbkit(project, "init", str(project)).exit_code == 0
    assert "sqlfluff" in (project / ".sqlfluff").read_text()
    assert "excluded_rules" in (project / ".squawk.toml").read_text()
    add_migration(project, "create widgets", CREATE, "DROP TABLE widgets;\n")
    result = dbkit(project, "lint")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "lint: clean (4 files checked)"


def test_lint_changed_lints_only_what_the_branch_adds(tmp_path):
    project = linear_repo(tmp_path)
    assert dbkit(project, "lint").exit_code == 1  # main's migration has findings
    stem = add_migration(project, "widgets", CREATE, "DROP TABLE widgets;\n")  # untracked
    result = dbkit(project, "lint", "--changed", "--base", "main", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["changed_since"] == "main" and data["files_checked"] == 4
    assert data["findings"] == []
    # an edit of main's migration on the branch is linted too
    with (project / "sql/0001_gadgets.sql").open("a") as f:
        f.write("-- touched\n")
    result = dbkit(project, "lint", "--changed")
    assert result.exit_code == 1 and "sql/0001_gadgets.sql" in result.output
    assert f"sql/{stem}.sql" not in result.output
    bad = dbkit(project, "lint", "--changed", "--base", "nope")
    assert bad.exit_code == 2 and "dbkit: error: unknown git ref 'nope'" in bad.output


def test_lint_fix_never_rewrites_a_migration_of_the_base_ref(tmp_path):
    project = linear_repo(tmp_path)
    stem = add_migration(project, "more", SLOPPY.replace("gadgets", "more"), "DROP TABLE more;\n")
    old = (project / "sql/0001_gadgets.sql").read_text()
    result = dbkit(project, "lint", "--fix", "--only", "sqlfluff")
    assert f"fixed sql/{stem}.sql" in result.output
    assert "CREATE TABLE more" in (project / f"sql/{stem}.sql").read_text()
    assert "not fixed (applied: git ref main;" in result.output
    assert "sql/0001_gadgets.sql" in result.output
    assert (project / "sql/0001_gadgets.sql").read_text() == old


def test_lint_fix_leaves_migrations_applied_in_the_named_database_alone(tmp_path, db_url):
    project = tmp_path / "nogit"
    assert dbkit(project, "init", str(project)).exit_code == 0
    add_migration(project, "gadgets", SLOPPY, "DROP TABLE gadgets;\n")
    refused = dbkit(project, "lint", "--fix")
    assert refused.exit_code == 2
    assert "dbkit: error: lint --fix cannot tell which migrations are applied" in refused.output
    assert (project / "sql/0001_gadgets.sql").read_text().endswith(SLOPPY)

    assert dbkit(project, "--url", db_url, "migrate").exit_code == 0
    add_migration(project, "more", SLOPPY.replace("gadgets", "more"), "DROP TABLE more;\n")
    result = dbkit(project, "--url", db_url, "lint", "--fix", "--only", "sqlfluff", "--json")
    data = json.loads(result.output)
    assert data["fixed"] == ["sql/0002_more.sql"]
    assert data["protected"] == ["sql/0001_gadgets.sql", "rollbacks/0001_gadgets.sql"]
    assert (project / "sql/0001_gadgets.sql").read_text().endswith(SLOPPY)
    status = dbkit(project, "--url", db_url, "status")
    assert status.exit_code == 0 and "changed" not in status.output  # checksum intact
