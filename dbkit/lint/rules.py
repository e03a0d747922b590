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
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from dbkit.errors import PlanError
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
    "dbkit/undeclared-non-transactional": "a statement PostgreSQL will not run in a "
    "transaction, in a migration not declared `transactional = False`",
    "dbkit/transaction-control": "BEGIN, COMMIT, ROLLBACK... in a migration file (dbkit "
    "manages the transaction)",
    "dbkit/irreversible": "a rollback that only refuses to run (written by `dbkit import` for a "
    "migration its source tool had no down file for): write the real rollback",
    "dbkit/validation-parse": "a validation file that does not parse as checks",
    "dbkit/orphan-validation": "a validation file for no migration or for an unknown phase",
}

_CHECK_FILE = re.compile(r"^(?P<name>\d+_[a-z0-9_]+)\.(pre|post)\.sql$")
_PHASE_FILE = re.compile(r"^(?P<phase>[a-z][a-z0-9_]*)\.(pre|post|perf)\.sql$")


@dataclass(frozen=True)
class Finding:
    """One problem in one file."""

    path: str  # relative to the project; "" for a problem of the project as a whole
    line: int | None  # 1-based; None when it is about the whole file
    rule: str  # dbkit/missing-rollback, sqlfluff/LT01, squawk/adding-field-with-default
    message: str
    severity: str = "error"  # error (fails the lint) | warning (reported only)
    source: str = "dbkit"  # dbkit | sqlfluff | squawk

    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.source, self.rule, self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "rule": self.rule,
            "message": self.message,
            "severity": self.severity,
            "source": self.source,
        }


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
        code_stamp("dbkit.lint.tools", "dbkit.lint.rules") + "|" + package_stamp("pglast"),
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


def migration_name(path: Path) -> str:
    """The migration a file of sql/ or rollbacks/ belongs to (``0007_leads`` for
    ``rollbacks/0007_leads.data.sql``, a rollback of a lighter level)."""
    return path.name.split(".", 1)[0]


# -- rules on the SQL inside the files --------------------------------------------------------


def _sql_rules(
    project: Path, migrations: list[Migration], cache: ResultCache | None = None
) -> list[Finding]:
    findings: list[Finding] = []
    for migration in migrations:
        paths = [migration.up_path, migration.down_path]
        paths += sorted(migration.down_path.parent.glob(f"{migration.name}.*.sql"))
        statements: dict[Path, list | None] = {}
        for path in paths:
            if path.is_file():
                statements[path] = _file_facts(project, path, findings, cache)
        for path, parsed in statements.items():
            if parsed is None:
                continue
            rel = migration.relpath(path)
            for line, keyword, reason in parsed:
                if keyword:
                    findings.append(
                        Finding(
                            rel,
                            line,
                            "dbkit/transaction-control",
                            f"{keyword} in a migration file: dbkit runs each migration "
                            "in its own transaction (or outside one with "
                            "`transactional = False`); remove it",
                        )
                    )
                    continue
                if reason and migration.transactional:
                    findings.append(
                        Finding(
                            rel,
                            line,
                            "dbkit/undeclared-non-transactional",
                            f"{reason} cannot run inside a transaction, but revision "
                            f"{migration.revision} is transactional (declare "
                            "`transactional = False` in its revision file, or move the "
                            "statement to a migration of its own that does)",
                        )
                    )
        up, down = statements.get(migration.up_path), statements.get(migration.down_path)
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
        if up and down is not None and not down:
            findings.append(
                Finding(
                    migration.relpath(migration.down_path),
                    None,
                    "dbkit/empty-rollback",
                    f"the rollback has no statement while {migration.relpath(migration.up_path)}"
                    f" has {len(up)}: rolling back would leave its changes in place",
                )
            )
    return findings


def _irreversible(path: Path) -> bool:
    from dbkit.plan.importers import IRREVERSIBLE_MARKER

    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().startswith(IRREVERSIBLE_MARKER)


def _file_facts(
    project: Path, path: Path, findings: list[Finding], cache: ResultCache | None
) -> list[list] | None:
    """``[[line, transaction keyword or None, non-transactional reason or None]]`` per
    statement of a SQL file, or None (and a finding) if it does not parse; kept in ``cache`` by
    the file's path and content, so an unchanged file needs no parser."""
    from dbkit.plan.cache import digest

    rel = str(path.relative_to(project))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        findings.append(Finding(rel, None, "dbkit/parse-error", f"not UTF-8 text: {exc.reason}"))
        return None
    key = digest("sql rules", rel, text)
    stored = cache.get(key) if cache is not None else None
    if stored is None:
        found: list[Finding] = []
        parsed = _parse_file(project, path, found)
        if parsed is None:
            stored = {"error": [list(astuple(f)) for f in found]}
        else:
            facts = []
            for line, node in parsed:
                txn = type(node).__name__ == "TransactionStmt" and _ends_or_starts_transaction(node)
                reason = None if txn else non_transactional_reason(node)
                facts.append([line, _keyword(node) if txn else None, reason])
            stored = {"facts": facts}
        if cache is not None:
            cache.put(key, stored)
    if "error" in stored:
        findings.extend(Finding(*each) for each in stored["error"])
        return None
    return stored["facts"]


def _parse_file(project: Path, path: Path, findings: list[Finding]) -> list[tuple[int, Any]] | None:
    """``[(line, statement node)]`` of a SQL file, or None (and a finding) if it does not parse."""
    import pglast

    rel = str(path.relative_to(project))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        findings.append(Finding(rel, None, "dbkit/parse-error", f"not UTF-8 text: {exc.reason}"))
        return None
    try:
        parsed = pglast.parse_sql(text)
    except pglast.parser.ParseError as exc:
        offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        findings.append(
            Finding(rel, text.count("\n", 0, offset) + 1, "dbkit/parse-error", str(exc.args[0]))
        )
        return None
    result = []
    for raw in parsed:
        start = raw.stmt_location or 0
        # stmt_location points at the end of the previous statement's semicolon: skip to the
        # statement's first character, past blanks and comments.
        line = text.count("\n", 0, start) + 1 + _leading_lines(text[start:])
        result.append((line, raw.stmt))
    return result


def _leading_lines(text: str) -> int:
    """Newlines before the first character that is neither blank nor in a ``--`` comment."""
    match = re.match(r"(?:\s|--[^\n]*|/\*.*?\*/)*", text, re.DOTALL)
    return text.count("\n", 0, match.end()) if match else 0


def _ends_or_starts_transaction(node: Any) -> bool:
    from pglast.enums import TransactionStmtKind as K

    return node.kind in (
        K.TRANS_STMT_BEGIN,
        K.TRANS_STMT_START,
        K.TRANS_STMT_COMMIT,
        K.TRANS_STMT_ROLLBACK,
        K.TRANS_STMT_PREPARE,
        K.TRANS_STMT_COMMIT_PREPARED,
        K.TRANS_STMT_ROLLBACK_PREPARED,
    )


def _keyword(node: Any) -> str:
    name = node.kind.name.removeprefix("TRANS_STMT_")
    return name.replace("_", " ")


def non_transactional_reason(node: Any) -> str | None:
    """What makes a statement impossible inside a transaction block, or None if nothing does.

    ``node`` is a pglast statement node.
    """
    kind = type(node).__name__
    if kind == "IndexStmt" and node.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if kind == "DropStmt" and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if kind == "ReindexStmt" and any(
        getattr(p, "defname", None) == "concurrently" for p in node.params or ()
    ):
        return "REINDEX CONCURRENTLY"
    if kind == "VacuumStmt" and node.is_vacuumcmd:
        return "VACUUM"
    if kind == "AlterTableStmt":
        for cmd in node.cmds or ():
            if getattr(getattr(cmd, "def_", None), "concurrent", False):
                return "DETACH PARTITION ... CONCURRENTLY"
    if kind == "ClusterStmt" and node.relation is None:
        return "CLUSTER without a table"
    if kind == "DiscardStmt" and node.target.name == "DISCARD_ALL":
        return "DISCARD ALL"
    simple = {
        "CreatedbStmt": "CREATE DATABASE",
        "DropdbStmt": "DROP DATABASE",
        "AlterSystemStmt": "ALTER SYSTEM",
        "CreateTableSpaceStmt": "CREATE TABLESPACE",
        "DropTableSpaceStmt": "DROP TABLESPACE",
        "CreateSubscriptionStmt": "CREATE SUBSCRIPTION",
        "DropSubscriptionStmt": "DROP SUBSCRIPTION",
    }
    return simple.get(kind)


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
            findings.append(_located(project, rel, exc.message, "dbkit/validation-parse"))
        except UnicodeDecodeError as exc:
            findings.append(
                Finding(str(rel), None, "dbkit/validation-parse", f"not UTF-8: {exc.reason}")
            )
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
