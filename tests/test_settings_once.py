"""Configuration is read once and a migration's preamble is rendered once.

The preamble (the session limits a migration runs under) is compared across every path that
produces it: the runner on a real server (what the migration itself sees), ``dbkit sql``,
``dbkit show`` and the Alembic ``--sql`` output. Then the configuration errors: unknown keys,
wrong types, negative limits and an empty ``--url``, each through the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from click.testing import CliRunner

from dbkit.cli.app import main
from dbkit.plan.preamble import preamble
from dbkit.plan.scaffold import PROJECT_FILES

FIXTURE = Path(__file__).parent / "fixtures" / "basic"

# Each migration records the limits it ran under, so the server says what the runner set.
SEEN_UP = (
    "CREATE TABLE IF NOT EXISTS seen (revision text, lock_timeout text, statement_timeout text);"
    "\nINSERT INTO seen VALUES ('{rev}', current_setting('lock_timeout'), "
    "current_setting('statement_timeout'));\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """tests/fixtures/basic plus dbkit.toml limits, with each migration recording its limits."""
    target = tmp_path / "basic"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, template in PROJECT_FILES.items():
        if rel.name != "dbkit.toml":
            shutil.copyfile(template, target / rel)
    (target / "dbkit.toml").write_text('statement_timeout = "45s"\nlock_timeout = "4s"\n')
    for path in sorted((target / "sql").glob("*.sql")):
        rev = path.name[:4]
        path.write_text(path.read_text() + "\n" + SEEN_UP.format(rev=rev))
    return target


def _dbkit(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    return subprocess.run(
        [str(Path(sys.executable).with_name("dbkit")), "--project", str(project), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


EXPECTED = {
    # revision: (lock_timeout, statement_timeout, transactional)
    "0001": ("4s", "45s", True),  # project settings
    "0003": ("10s", "45s", False),  # the revision's own lock_timeout wins
}


def test_every_path_renders_the_same_preamble(project, db_url, monkeypatch, capsys):
    expected = {
        rev: preamble(lock, statement, local=tx) for rev, (lock, statement, tx) in EXPECTED.items()
    }
    # the runner, as the server saw it
    applied = _dbkit(project, "--url", db_url, "migrate")
    assert applied.returncode == 0, applied.stderr
    with psycopg.connect(db_url) as conn:
        seen = {r: (lt, st) for r, lt, st in conn.execute("SELECT * FROM seen")}
        after = conn.execute("SHOW statement_timeout").fetchone()[0]
    assert seen["0001"] == ("4s", "45s")
    assert seen["0002"] == ("4s", "45s")
    assert seen["0003"] == ("10s", "45s")
    assert after == "0"  # a fresh session is not affected
    # dbkit sql
    script = _dbkit(project, "sql")
    assert script.returncode == 0, script.stderr
    for rev, lines in expected.items():
        block = script.stdout.split(f"-- apply {rev}_", 1)[1].split("-- apply ", 1)[0]
        assert "\n".join(lines) in block, block
    # dbkit show
    for rev, lines in expected.items():
        shown = _dbkit(project, "show", rev, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["preamble"] == lines
        text = _dbkit(project, "show", rev)
        assert f"preamble:          {' '.join(lines)}" in text.stdout
    # Alembic offline (alembic upgrade head --sql), through the project's env.py
    monkeypatch.setenv("DBKIT_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.chdir(project)
    command.upgrade(Config(str(project / "alembic.ini")), "head", sql=True)
    offline = "\n".join(line for line in capsys.readouterr().out.splitlines() if line.strip())
    for lines in expected.values():
        assert "\n".join(lines) in offline


def _cli(project: Path, *args: str):
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    return CliRunner().invoke(main, ["--project", str(project), *args], env=env)


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize(
    "where, text, message",
    [
        (
            "dbkit.toml",
            'lock_timout = "2s"\n',
            "dbkit.toml: unknown setting 'lock_timout' (did you mean 'lock_timeout'?)",
        ),
        (
            "pyproject.toml",
            "[tool.dbkit]\nlock_retry = 2\n",
            "pyproject.toml [tool.dbkit]: unknown setting 'lock_retry' "
            "(did you mean 'lock_retries'?)",
        ),
        (
            "dbkit.toml",
            'lock_retries = "three"\n',
            "dbkit.toml: lock_retries = 'three' is a string, expected an integer, 0 or more",
        ),
        (
            "pyproject.toml",
            "[tool.dbkit]\nlock_wait = true\n",
            "pyproject.toml [tool.dbkit]: lock_wait = True is a boolean, expected a number of "
            "seconds, 0 or more",
        ),
        (
            "dbkit.toml",
            "url = 5\n",
            "dbkit.toml: url = 5 is an integer, expected a string",
        ),
        (
            "dbkit.toml",
            "lock_retries = -1\n",
            "dbkit.toml: lock_retries = -1 is negative, expected an integer, 0 or more",
        ),
        (
            "dbkit.toml",
            "lock_wait = -0.5\n",
            "dbkit.toml: lock_wait = -0.5 is negative, expected a number of seconds, 0 or more",
        ),
    ],
)
@pytest.mark.parametrize("command_line", [["status"], ["sql"]], ids=["status", "sql"])
def test_a_bad_setting_is_refused_naming_file_and_key(bare, where, text, message, command_line):
    (bare / where).write_text(text)
    result = _cli(bare, *command_line)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"dbkit: error: {bare / where}")
    assert message in lines[0]


def test_an_empty_url_is_refused(bare, tmp_path):
    (bare / "dbkit.toml").write_text('url = "postgresql://nobody@127.0.0.1:1/none"\n')
    result = _cli(bare, "--url", "", "status")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "dbkit: error: --url is empty (give a database URL, or leave --url out to use the "
        "configured one)"
    ]
    assert not (bare / ".dbkit").exists()  # did not fall through to anything
