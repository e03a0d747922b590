"""The external linters ``dbkit lint`` runs: sqlfluff (in process) and squawk (its executable).

Each returns :class:`dbkit.lint.rules.Finding` objects with project-relative paths and 1-based
lines.
A linter that is not installed is one finding saying so (severity error: a CI gate must not
pass because a tool was missing).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from dbkit.lint.rules import Finding, migration_name
from dbkit.plan.graph import ROLLBACK_DIR

# squawk rules dbkit always leaves out, and why (docs/ci.md repeats this):
#   require-lock-timeout, require-statement-timeout: dbkit sets lock_timeout and
#   statement_timeout for every migration itself (settings, or the revision's own options).
ALWAYS_EXCLUDED = ("require-lock-timeout", "require-statement-timeout")
#   ban-drop-* (but not ban-drop-database): a rollback drops what its migration created;
#   that is its job.
ROLLBACK_EXCLUDED = tuple(
    f"ban-drop-{kind}"
    for kind in [
        "table",
        "column",
        "function",
        "view",
        "type",
        "schema",
        "sequence",
        "domain",
        "constraint",
        "index",
        "trigger",
        "extension",
        "policy",
        "not-null",
        "generated-expression",
    ]
)


# -- sqlfluff -----------------------------------------------------------------------------------


#: sqlfluff settings for a project without a sqlfluff configuration of its own: sqlfluff's
#: rules, PostgreSQL, plain SQL (no Jinja), lines of 100 characters, long comment lines allowed.
DEFAULT_SQLFLUFF = {
    "core": {"dialect": "postgres", "templater": "raw", "max_line_length": 100},
    "rules": {"layout.long_lines": {"ignore_comment_lines": True}},
}


def sqlfluff_config(project: Path):
    """The project's sqlfluff configuration (.sqlfluff, setup.cfg, tox.ini, pyproject.toml
    [tool.sqlfluff], found the way sqlfluff finds them), always with the PostgreSQL dialect;
    :data:`DEFAULT_SQLFLUFF` when the project has none."""
    from sqlfluff.core import FluffConfig

    has_config = any(
        (project / name).is_file() for name in (".sqlfluff", "setup.cfg", "tox.ini")
    ) or _pyproject_has_sqlfluff(project)
    if not has_config:
        return FluffConfig(configs=DEFAULT_SQLFLUFF)  # nothing from parent directories
    return FluffConfig.from_path(str(project), overrides={"dialect": "postgres"})


def _pyproject_has_sqlfluff(project: Path) -> bool:
    path = project / "pyproject.toml"
    if not path.is_file():
        return False
    try:
        return "sqlfluff" in tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def run_sqlfluff(
    project: Path, files: list[Path], *, fix: bool = False
) -> tuple[list[Finding], str, list[str]]:
    """Lint ``files`` (after fixing them first with ``fix``); returns the findings, sqlfluff's
    version and the files rewritten.

    Files are linted one by one with the configuration at the project's root (configuration
    files in sql/ or rollbacks/ themselves are not read).
    """
    try:
        import sqlfluff
        from sqlfluff.core import Linter
    except ImportError:
        return [_missing("sqlfluff", "pip install sqlfluff")], "", []
    linter = Linter(config=sqlfluff_config(project))
    findings: list[Finding] = []
    fixed: list[str] = []
    for rel in files:
        path = project / rel
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # dbkit's own rules report it
        linted = linter.lint_string(text, fname=str(path), fix=fix)
        if fix:
            new_text, _ = linted.fix_string()
            if new_text != text:
                path.write_text(new_text, encoding="utf-8")
                fixed.append(str(rel))
                linted = linter.lint_string(new_text, fname=str(path))
        for violation in linted.get_violations():
            findings.append(
                Finding(
                    str(rel),
                    violation.line_no or None,
                    f"sqlfluff/{violation.rule_code()}",
                    _one_line(violation.desc()),
                    "error",
                    "sqlfluff",
                )
            )
    return findings, sqlfluff.__version__, fixed


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- squawk ---------------------------------------------------------------------------------------


def squawk_executable() -> str | None:
    """squawk next to this Python (a virtualenv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "squawk"
    if beside.is_file():
        return str(beside)
    return shutil.which("squawk")


def run_squawk(
    project: Path, files: list[Path], transactional: dict[str, bool]
) -> tuple[list[Finding], str]:
    """Run squawk on the migration and rollback ``files`` with the project's .squawk.toml.

    A file of a transactional migration is linted as running inside a transaction
    (``--assume-in-transaction``), one of a ``transactional = False`` migration not. squawk's
    ``--exclude`` replaces the config's ``excluded_rules``, so dbkit passes their union with
    :data:`ALWAYS_EXCLUDED` (and :data:`ROLLBACK_EXCLUDED` for rollbacks).
    """
    exe = squawk_executable()
    if exe is None:
        return [_missing("squawk", "pip install squawk-cli")], ""
    version = _squawk_version(exe)
    if not files:
        return [], version
    config_path = project / ".squawk.toml"
    config: dict = {}
    if config_path.is_file():
        try:
            config = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            return [
                Finding(".squawk.toml", None, "squawk/config", f"not valid TOML: {exc}", "error")
            ], version
    excluded = [*config.get("excluded_rules", []), *ALWAYS_EXCLUDED]

    groups: dict[tuple[bool, bool], list[str]] = {}
    for rel in files:
        is_rollback = rel.parts[0] == str(ROLLBACK_DIR)
        in_transaction = transactional.get(migration_name(rel), True)
        groups.setdefault((is_rollback, in_transaction), []).append(str(rel))

    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="dbkit-squawk-") as tmp:
        if not config_path.is_file():
            # an empty config, so that squawk does not pick up one from a parent directory
            config_path = Path(tmp) / ".squawk.toml"
            config_path.write_text("")
        for (is_rollback, in_transaction), paths in sorted(groups.items()):
            rules = excluded + (list(ROLLBACK_EXCLUDED) if is_rollback else [])
            command = [
                exe,
                "--reporter",
                "json",
                "--config",
                str(config_path),
                "--assume-in-transaction" if in_transaction else "--no-assume-in-transaction",
                "--exclude",
                ",".join(dict.fromkeys(rules)),
                *paths,
            ]
            findings += _squawk_findings(project, command)
    return findings, version


def _squawk_findings(project: Path, command: list[str]) -> list[Finding]:
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
    try:
        violations = json.loads(done.stdout) if done.stdout.strip() else []
    except json.JSONDecodeError:
        violations = None
    if violations is None or (done.returncode not in (0, 1)) or not isinstance(violations, list):
        detail = _one_line(done.stderr or done.stdout or f"exit code {done.returncode}")
        return [Finding("", None, "squawk/failed", f"squawk did not run: {detail}", "error")]
    findings = []
    for v in violations:
        message = v.get("message", "")
        if v.get("help"):
            message += f" {v['help']}"
        findings.append(
            Finding(
                str(v.get("file", "")),
                int(v["line"]) + 1 if v.get("line") is not None else None,  # squawk: 0-based
                f"squawk/{v.get('rule_name', 'unknown')}",
                _one_line(message, 300),
                "error",
                "squawk",
            )
        )
    return findings


def _squawk_version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return out.stdout.strip().removeprefix("squawk ").strip()


def _missing(tool: str, install: str) -> Finding:
    return Finding(
        "",
        None,
        f"{tool}/not-installed",
        f"{tool} is not installed, so its rules were not checked ({install})",
        "error",
        tool,
    )
