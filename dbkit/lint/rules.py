"""``dbkit lint``: every problem of a project's files, found without a database.

Three sources, one report:

* **dbkit**'s own structural rules (ids ``dbkit/...``, see :data:`RULES`): the plan's rules are
  those :func:`dbkit.plan.graph.load_plan` refuses a plan for
  (:func:`dbkit.plan.graph.scan_plan` lists all of them, not only the first), plus the
  rules about the SQL inside the files that only lint checks (non-transactional statements
  declared, no transaction control, no empty rollback, validation files that parse and belong
  to something);
* **sqlfluff** (ids ``sqlfluff/<code>``): style and parse errors of sql/, rollbacks/ and
  validations/, with the project's sqlfluff configuration (:mod:`dbkit.lint.tools`);
* **squawk** (ids ``squawk/<rule>``): migration safety of sql/ and rollbacks/ (locks, missing
  NOT VALID, non-concurrent indexes on existing tables, volatile defaults...), with the
  project's ``.squawk.toml``.

The library returns a :class:`LintReport`; the CLI renders it and exits non-zero when it holds a
finding of severity ``error``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbkit.errors import PlanError
from dbkit.lint.findings import Finding, migration_name
from dbkit.plan import sqlrules
from dbkit.plan.cache import ResultCache, code_stamp, package_stamp
from dbkit.plan.checks import EVERY_PHASE, check_cache
from dbkit.plan.graph import ROLLBACK_DIR, SQL_DIR, VALIDATION_DIR, Migration, scan_plan

SOURCES = ("dbkit", "sqlfluff", "squawk")

#: dbkit's own rules and what each one checks (docs/ci.md lists them too).
RULES = {
    "dbkit/revision-file": "a revision file that cannot be read as a dbkit SQL-pair revision",
    "dbkit/name-mismatch": "a revision id that differs from its file's number",
    "dbkit/duplicate-number": "two revision files with the same number",
    "dbkit/missing-sql": "a revision without its sql/NNNN_slug.sql file",
    "dbkit/missing-rollback": "a revision without its rollbacks/NNNN_slug.sql file",
    "dbkit/orphan-file": "a file in sql/ or rollbacks/ that no revision file names",
    "dbkit/broken-chain": "a down_revision that does not exist, no base or several, a cycle",
    "dbkit/two-heads": "two revisions that follow the same parent",
    "dbkit/phase-order": "a phase whose migrations are not consecutive",
    "dbkit/parse-error": "SQL that PostgreSQL's parser rejects",
    "dbkit/empty-rollback": "a rollback without statements for a migration that has some",
    **sqlrules.RULES,
    "dbkit/irreversible": "a rollback that only refuses to run (written by `dbkit import` for a "
    "migration its source tool had no down file for): write the real rollback",
    "dbkit/validation-parse": "a validation file that does not parse as checks",
    "dbkit/orphan-validation": "a validation file for no migration or for an unknown phase",
    "dbkit/check-side-effect": "a check that could change or lock rows (a data-modifying WITH, "
    "FOR UPDATE/SHARE, SELECT INTO)",
    "dbkit/check-scans-big-table": "(warning; with a database) a check or key query whose plan "
    "reads all of a relation of at least big_table_rows rows (a sequential scan, or an index "
    "scan without an index condition)",
}

_CHECK_FILE = re.compile(r"^(?P<name>\d+_[a-z0-9_]+)\.(pre|post)\.sql$")
_PHASE_FILE = re.compile(r"^(?P<phase>[a-z][a-z0-9_]*)\.(pre|post|perf)\.sql$")


@dataclass
class LintReport:
    """What ``dbkit lint`` found in a project."""

    project_dir: Path
    findings: list[Finding] = field(default_factory=list)
    files_checked: int = 0
    fixed: list[str] = field(default_factory=list)  # files --fix rewrote
    protected: list[str] = field(default_factory=list)  # files --fix left alone (applied)
    protected_because: list[str] = field(default_factory=list)  # what said they are applied
    changed_since: str | None = None  # the git ref of `lint --changed`
    tools: dict[str, str] = field(default_factory=dict)  # source -> version ("" if missing)
    # dbkit/check-scans-big-table: where the checks were EXPLAINed, or why they were not
    big_table_scans: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def by_file(self) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {}
        for finding in sorted(self.findings, key=Finding.sort_key):
            grouped.setdefault(finding.path, []).append(finding)
        return grouped

    @property
    def summary(self) -> str:
        if not self.findings:
            return f"lint: clean ({self.files_checked} files checked)"
        files = len({f.path for f in self.findings})
        return (
            f"lint: {self.errors} error{'s' if self.errors != 1 else ''}, {self.warnings} "
            f"warning{'s' if self.warnings != 1 else ''} in {files} "
            f"file{'s' if files != 1 else ''} ({self.files_checked} files checked)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "project": str(self.project_dir),
            "files_checked": self.files_checked,
            "errors": self.errors,
            "warnings": self.warnings,
            "fixed": self.fixed,
            "protected": self.protected,
            "protected_because": self.protected_because,
            "changed_since": self.changed_since,
            "tools": self.tools,
            "big_table_scans": self.big_table_scans or None,
            "findings": [f.to_dict() for f in sorted(self.findings, key=Finding.sort_key)],
        }


def lint_project(
    project_dir: Path | str,
    *,
    fix: bool = False,
    sources: Iterable[str] = SOURCES,
    only_files: Iterable[str] | None = None,
    protect: Iterable[str] = (),
) -> LintReport:
    """Lint a project's migrations, rollbacks and validations; never touches a database.

    ``fix`` first applies sqlfluff's fixes to the files (then lints the fixed files), except
    the sql/ and rollbacks/ files of the migrations named in ``protect`` (applied ones: a
    rewrite would change their checksum everywhere they ran); those are linted as they are
    and listed in :attr:`LintReport.protected`. ``sources`` picks among ``dbkit``,
    ``sqlfluff`` and ``squawk`` (default: all three). ``only_files`` (project-relative
    paths) restricts the SQL and validation files linted to those of the migrations these
    paths belong to (``lint --changed``); the plan's structural rules still cover the plan.
    """
    from dbkit.lint import tools as lint_tools

    project = Path(project_dir)
    sources = tuple(sources)
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        from dbkit.errors import UsageError

        raise UsageError(f"unknown lint source {unknown[0]!r} (choose from {', '.join(SOURCES)})")
    migrations, problems = scan_plan(project)
    report = LintReport(project)
    sql_files = _files(project, SQL_DIR) + _files(project, ROLLBACK_DIR)
    validation_files = sorted(
        p.relative_to(project) for p in (project / VALIDATION_DIR).rglob("*.sql") if p.is_file()
    )
    if only_files is not None:
        wanted = set(only_files)
        touched = {migration_name(Path(f)) for f in wanted}
        sql_files = [f for f in sql_files if migration_name(f) in touched]
        validation_files = [
            f for f in validation_files if migration_name(f) in touched or str(f) in wanted
        ]
    report.files_checked = len(sql_files) + len(validation_files)
    protected_names = set(protect)
    kept = [f for f in sql_files if fix and migration_name(f) in protected_names]
    report.protected = [str(f) for f in kept]
    # sqlfluff's and squawk's findings per file content, tool version and configuration
    checks = check_cache(project)  # parsed validation files, shared with migrate
    cache = ResultCache(
        project,
        "lint",
        code_stamp("dbkit.lint.tools", "dbkit.lint.rules", "dbkit.plan.sqlrules")
        + "|"
        + package_stamp("pglast"),
    )

    if "sqlfluff" in sources:
        fixable = [f for f in [*sql_files, *validation_files] if f not in kept]
        findings, version, fixed = lint_tools.run_sqlfluff(project, fixable, fix=fix, cache=cache)
        if kept:
            findings += lint_tools.run_sqlfluff(project, kept, fix=False, cache=cache)[0]
        report.findings += findings
        report.fixed = fixed
        report.tools["sqlfluff"] = version
    if "dbkit" in sources:
        from dbkit import __version__

        report.tools["dbkit"] = __version__
        report.findings += [
            Finding(p.path or "", p.line, p.rule, p.detail + (f" ({p.hint})" if p.hint else ""))
            for p in problems
        ]
        linted = {str(f) for f in [*sql_files, *validation_files]}
        report.findings += [
            f
            for f in _sql_rules(project, migrations, cache)
            + _validation_rules(project, migrations, validation_files, checks)
            if only_files is None or f.path in linted or not f.path.startswith(_FILE_DIRS)
        ]
    if "squawk" in sources:
        transactional = {m.name: m.transactional for m in migrations}
        findings, version = lint_tools.run_squawk(project, sql_files, transactional, cache=cache)
        report.findings += findings
        report.tools["squawk"] = version
    if "sqlfluff" in sources and "dbkit" in sources:
        _downgrade_sqlfluff_parse_gaps(report)
    report.findings.sort(key=Finding.sort_key)
    cache.save()
    checks.save()
    return report


_FILE_DIRS = (f"{SQL_DIR}/", f"{ROLLBACK_DIR}/", f"{VALIDATION_DIR}/")


def _files(project: Path, directory: Path) -> list[Path]:
    return sorted(p.relative_to(project) for p in (project / directory).glob("*.sql"))


# -- rules on the SQL inside the files --------------------------------------------------------


def _sql_rules(
    project: Path, migrations: list[Migration], cache: ResultCache | None = None
) -> list[Finding]:
    """The rules on statements (:mod:`dbkit.plan.sqlrules`, the ones ``migrate`` applies before
    connecting), plus parse errors and empty rollbacks; kept in ``cache`` by the content of
    the migration's files, so an unchanged migration needs no parser."""
    from dbkit.plan.cache import digest

    findings: list[Finding] = []
    for migration in migrations:
        paths = [migration.up_path, migration.down_path]
        paths += sorted(migration.down_path.parent.glob(f"{migration.name}.*.sql"))
        parts = [migration.revision, str(migration.transactional)]
        for path in paths:
            if path.is_file():
                parts += [migration.relpath(path), path.read_bytes().hex()]
        key = digest("sql rules", *parts)
        stored = cache.get(key) if cache is not None else None
        if stored is None:
            stored = [
                [f.path, f.line, f.rule, f.message + (f" ({f.hint})" if f.hint else ""), f.severity]
                for f in sqlrules.migration_findings(migration, with_parse_errors=True)
            ]
            if cache is not None:
                cache.put(key, stored)
        findings += [Finding(*each) for each in stored]
        if migration.down_path.is_file() and _irreversible(migration.down_path):
            findings.append(
                Finding(
                    migration.relpath(migration.down_path),
                    1,
                    "dbkit/irreversible",
                    "this rollback only refuses to run: the migration was imported without a "
                    "down file; write the real rollback (then `dbkit verify` proves it)",
                )
            )
    return findings


def _irreversible(path: Path) -> bool:
    from dbkit.plan.importers import IRREVERSIBLE_MARKER

    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().startswith(IRREVERSIBLE_MARKER)


# -- validation files --------------------------------------------------------------------------


def _validation_rules(
    project: Path, migrations: list[Migration], files: list[Path], checks: ResultCache | None = None
) -> list[Finding]:
    from dbkit.plan.checks import parse_check_file

    findings: list[Finding] = []
    names = {m.name for m in migrations}
    phases = {m.phase for m in migrations}
    phase_dir = VALIDATION_DIR / "phases"
    for rel in files:
        orphan = None
        if rel.parent == VALIDATION_DIR:
            match = _CHECK_FILE.match(rel.name)
            if not match:
                orphan = "not a validation file name (NNNN_slug.pre.sql or NNNN_slug.post.sql)"
            elif match["name"] not in names:
                orphan = f"no migration {match['name']} (no revision file for it)"
        elif rel.parent == phase_dir:
            match = _PHASE_FILE.match(rel.name)
            if rel.name in tuple(f"{EVERY_PHASE}.{k}.sql" for k in ("pre", "post", "perf")):
                pass  # checks every phase runs
            elif not match:
                orphan = (
                    "not a phase validation file name (<phase>.pre|post|perf.sql, or "
                    f"{EVERY_PHASE}.pre|post|perf.sql for checks of every phase)"
                )
            elif match["phase"] not in phases:
                orphan = (
                    f"no phase {match['phase']!r} in the plan "
                    f"(phases: {', '.join(sorted(phases)) or 'none'})"
                )
        else:
            orphan = "validation files live in validations/ or validations/phases/"
        if orphan:
            findings.append(
                Finding(str(rel), None, "dbkit/orphan-validation", f"{orphan}: it never runs")
            )
        try:
            parse_check_file(project / rel, checks)
        except PlanError as exc:
            message = exc.message + (f" ({exc.hint})" if exc.hint else "")
            findings.append(_located(project, rel, message, exc.rule or "dbkit/validation-parse"))
    return findings


def _located(project: Path, rel: Path, message: str, rule: str) -> Finding:
    """A finding from a ``path:line: text`` message."""
    for prefix in (str(project / rel), str(rel)):
        match = re.match(rf"^{re.escape(prefix)}(?::(\d+))?: ", message)
        if match:
            line = int(match[1]) if match[1] else None
            return Finding(str(rel), line, rule, message[match.end() :])
    return Finding(str(rel), None, rule, message)


def _downgrade_sqlfluff_parse_gaps(report: LintReport) -> None:
    """sqlfluff's dialect misses some PostgreSQL syntax: a file it cannot parse that
    PostgreSQL's own parser accepts is sqlfluff's gap, reported as a warning, not an error."""
    rejected = {
        f.path for f in report.findings if f.rule in ("dbkit/parse-error", "dbkit/validation-parse")
    }
    for i, finding in enumerate(report.findings):
        if finding.rule == "sqlfluff/PRS" and finding.path not in rejected and finding.path:
            report.findings[i] = Finding(
                finding.path,
                finding.line,
                finding.rule,
                finding.message + " (sqlfluff cannot parse this; PostgreSQL's parser can)",
                "warning",
                finding.source,
            )
