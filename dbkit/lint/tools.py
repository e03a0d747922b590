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
from dataclasses import astuple
from pathlib import Path
from typing import TYPE_CHECKING

from dbkit.lint.findings import Finding, migration_name
from dbkit.plan.cache import digest
from dbkit.plan.graph import ROLLBACK_DIR

if TYPE_CHECKING:
    from dbkit.plan.cache import ResultCache

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


def sqlfluff_config_key(project: Path) -> str:
    """What sqlfluff's configuration for ``project`` is made of, without importing sqlfluff:
    dbkit's default, and the content of every configuration file sqlfluff could read (the
    project's directory and its parents, the user's own)."""
    parts = [repr(DEFAULT_SQLFLUFF)]
    candidates = [Path.home() / ".sqlfluff", Path.home() / ".config" / "sqlfluff" / ".sqlfluff"]
    for directory in [project.resolve(), *project.resolve().parents]:
        for name in (".sqlfluff", "setup.cfg", "tox.ini", "pyproject.toml"):
            candidates.append(directory / name)
    for path in candidates:
        try:
            parts.append(f"{path}\n{path.read_text(encoding='utf-8', errors='replace')}")
        except OSError:
            continue
    return digest(*parts)


def _installed_version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return ""


def run_sqlfluff(
    project: Path, files: list[Path], *, fix: bool = False, cache: ResultCache | None = None
) -> tuple[list[Finding], str, list[str]]:
    """Lint ``files`` (after fixing them first with ``fix``); returns the findings, sqlfluff's
    version and the files rewritten.

    Files are linted one by one with the configuration at the project's root (configuration
    files in sql/ or rollbacks/ themselves are not read). With a ``cache``, a file whose
    content was linted before with the same sqlfluff and configuration is not linted again
    (``fix`` bypasses the cache); the others are linted in parallel processes when there are
    enough of them (sqlfluff takes a quarter of a second per file or more).
    """
    version = _installed_version("sqlfluff")
    if not version:
        return [_missing("sqlfluff", "pip install sqlfluff")], "", []
    # sqlfluffrs (sqlfluff[rs]) is sqlfluff's parser in Rust, which sqlfluff uses when it is
    # installed: a third of the time per file, same findings; the key says which parser ran.
    parser = _installed_version("sqlfluffrs")
    texts: dict[Path, str] = {}
    for rel in files:
        try:
            texts[rel] = (project / rel).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # dbkit's own rules report it
    if fix:
        cache = None
    config_key = sqlfluff_config_key(project) if cache is not None else ""
    keys = {
        rel: digest("sqlfluff", version, parser, config_key, str(rel), text)
        for rel, text in texts.items()
    }
    results: dict[Path, list] = {}
    if cache is not None:
        for rel, key in keys.items():
            stored = cache.get(key)
            if stored is not None:
                results[rel] = stored
    todo = [rel for rel in texts if rel not in results]
    fixed: list[str] = []
    if todo:
        try:
            import sqlfluff  # noqa: F401
        except ImportError:
            return [_missing("sqlfluff", "pip install sqlfluff")], "", []
        if fix:
            for rel in todo:
                results[rel], was_fixed = _sqlfluff_one(project, rel, texts[rel], fix=True)
                if was_fixed:
                    fixed.append(str(rel))
        else:
            for rel, violations in _sqlfluff_many(project, [(rel, texts[rel]) for rel in todo]):
                results[rel] = violations
                if cache is not None:
                    cache.put(keys[rel], violations)
    findings = [
        Finding(str(rel), line, f"sqlfluff/{code}", desc, "error", "sqlfluff")
        for rel in texts
        for line, code, desc in results[rel]
    ]
    return findings, version, fixed


_LINTER = None  # the worker processes' sqlfluff Linter, made once per process


def _linter(project: Path):
    global _LINTER
    if _LINTER is None or _LINTER[0] != project:
        from sqlfluff.core import Linter

        _LINTER = (project, Linter(config=sqlfluff_config(project)))
    return _LINTER[1]


def _sqlfluff_one(project: Path, rel: Path, text: str, *, fix: bool = False):
    """``([(line, code, description)], rewritten)`` for one file."""
    linter = _linter(project)
    path = project / rel
    linted = linter.lint_string(text, fname=str(path), fix=fix)
    rewritten = False
    if fix:
        new_text, _ = linted.fix_string()
        if new_text != text:
            path.write_text(new_text, encoding="utf-8")
            rewritten = True
            linted = linter.lint_string(new_text, fname=str(path))
    violations = [
        [v.line_no or None, v.rule_code(), _one_line(v.desc())] for v in linted.get_violations()
    ]
    return violations, rewritten


def _sqlfluff_file(project: Path, item: tuple[Path, str]) -> list:
    return _sqlfluff_one(project, item[0], item[1])[0]


def _sqlfluff_many(project: Path, items: list[tuple[Path, str]]) -> list[tuple[Path, list]]:
    """sqlfluff on many files: in worker processes (one per CPU, forked so that sqlfluff is
    imported once) when there are several files, else in this process.

    Files go to the workers one at a time, longest first, so that no worker is left with a
    big file at the end while the others idle (the cost of a file grows with its length)."""
    import multiprocessing
    import os

    workers = min(len(os.sched_getaffinity(0)), len(items))
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [(rel, _sqlfluff_one(project, rel, text)[0]) for rel, text in items]
    from concurrent.futures import ProcessPoolExecutor

    _linter(project)  # import sqlfluff and read the configuration once, before forking
    ordered = sorted(items, key=lambda item: len(item[1]), reverse=True)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        done = pool.map(_sqlfluff_file, [project] * len(ordered), ordered)
        return [(rel, violations) for (rel, _), violations in zip(ordered, done, strict=True)]


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
    project: Path,
    files: list[Path],
    transactional: dict[str, bool],
    *,
    cache: ResultCache | None = None,
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

    config_text = config_path.read_text(encoding="utf-8") if config_path.is_file() else ""
    groups: dict[tuple[bool, bool], list[str]] = {}
    keys: dict[str, str] = {}
    findings: list[Finding] = []
    for rel in files:
        is_rollback = rel.parts[0] == str(ROLLBACK_DIR)
        in_transaction = transactional.get(migration_name(rel), True)
        if cache is not None:
            try:
                content = (project / rel).read_bytes().decode("utf-8", "surrogateescape")
            except OSError:
                content = None
            if content is not None:
                key = digest(
                    "squawk", version, config_text, str(is_rollback), str(in_transaction),
                    ",".join(excluded), str(rel), content,
                )  # fmt: skip
                stored = cache.get(key)
                if stored is not None:
                    findings += [Finding(*each) for each in stored]
                    continue
                keys[str(rel)] = key
        groups.setdefault((is_rollback, in_transaction), []).append(str(rel))

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
            found = _squawk_findings(project, command)
            findings += found
            attributable = all(f.path in paths for f in found)  # one file each, no failure
            if cache is not None and attributable:
                by_file: dict[str, list] = {path: [] for path in paths}
                for f in found:
                    by_file[f.path].append(list(astuple(f)))
                for path, stored in by_file.items():
                    if path in keys:
                        cache.put(keys[path], stored)
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
