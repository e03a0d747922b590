"""Rules on the statements inside migration files, applied before any connection is made.

``dbkit migrate`` and ``dbkit rollback`` refuse a plan that breaks one of the error rules here
before they connect, and ``dbkit lint`` reports the same findings, so the two can never
disagree. Every rule is judged by PostgreSQL's own parser (pglast), never by guessing from
text:

* ``dbkit/transaction-control``: ``BEGIN``, ``COMMIT``, ``ROLLBACK``... in a migration file.
  dbkit owns the transaction: a ``COMMIT`` inside a transactional migration would make part of
  it permanent while dbkit reports it as not applied, a ``ROLLBACK`` would discard its work
  while ``alembic_version`` moves;
* ``dbkit/undeclared-non-transactional``: a statement PostgreSQL refuses inside a transaction
  (``CREATE INDEX CONCURRENTLY``...) in a migration not declared ``transactional = False``;
* ``dbkit/session-limits``: ``RESET ALL`` or a ``SET``/``RESET`` of ``lock_timeout`` or
  ``statement_timeout`` in a migration file: it would lift the limits dbkit keeps in force (the
  revision's ``lock_timeout = ...`` / ``statement_timeout = ...`` options set them instead);
* ``dbkit/empty-sql`` (a warning): a forward file with no statement, applied as an empty
  migration, nearly always a mistake.

A file the parser rejects is reported by ``dbkit lint`` (``dbkit/parse-error``) and, at run
time, by the server itself with the failing position, so these rules skip it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbkit.errors import PlanError
from dbkit.plan.graph import Migration

if TYPE_CHECKING:
    from dbkit.plan.cache import ResultCache

#: The rules of this module and what each one checks (``dbkit lint`` lists them too).
RULES = {
    "dbkit/undeclared-non-transactional": "a statement PostgreSQL will not run in a "
    "transaction, in a migration not declared `transactional = False`",
    "dbkit/transaction-control": "BEGIN, COMMIT, ROLLBACK... in a migration file (dbkit "
    "manages the transaction)",
    "dbkit/session-limits": "RESET ALL, or SET/RESET of lock_timeout or statement_timeout, in a "
    "migration file (use the revision's options)",
    "dbkit/empty-sql": "a forward SQL file with no statement (warning)",
}

# Cheap text filters: a file that matches none of them cannot break a rule, so most files are
# never handed to the parser (a 50 MB data migration included).
_TRANSACTION_WORDS = re.compile(
    r"(?:^|;|\*/)\s*(?:begin|start|commit|end|rollback|abort|prepare)\b",
    re.IGNORECASE | re.MULTILINE,
)
_OTHER_WORDS = re.compile(
    r"\b(?:concurrently|vacuum|database|system|tablespace|subscription|discard|cluster|reset|"
    r"lock_timeout|statement_timeout)\b",
    re.IGNORECASE,
)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_LIMITS = ("lock_timeout", "statement_timeout")


@dataclass(frozen=True)
class SqlFinding:
    """One broken rule in one migration file."""

    path: str  # project-relative
    line: int | None
    rule: str
    message: str
    severity: str = "error"  # error | warning
    hint: str | None = None

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def error(self) -> PlanError:
        return PlanError(f"{self.location}: {self.message}", hint=self.hint, rule=self.rule)


@dataclass(frozen=True)
class ParsedFile:
    """A SQL file's top-level statements as ``(line, kind, node)`` (node: the parser's JSON),
    or the parser's complaint."""

    rel: str
    statements: list[tuple[int, str, dict[str, Any]]] | None
    error: tuple[int, str] | None = None  # (line, message) when the parser rejects the file


def parse(text: str, rel: str) -> ParsedFile:
    """Parse SQL text with PostgreSQL's parser; locations become 1-based file lines."""
    from pglast.parser import ParseError, parse_sql_json

    encoded = text.encode("utf-8")
    try:
        tree = json.loads(parse_sql_json(text))
    except ParseError as exc:
        offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        return ParsedFile(rel, None, (text.count("\n", 0, offset) + 1, str(exc.args[0])))
    statements = []
    line, counted = 1, 0
    for raw in tree.get("stmts", []):
        # stmt_location is a byte offset at the end of the previous statement's semicolon:
        # skip blanks and comments to the statement's first character.
        start = raw.get("stmt_location", 0)
        length = raw.get("stmt_len") or len(encoded) - start
        piece = encoded[start : start + length].decode("utf-8", "replace")
        lead = re.match(r"(?:\s|--[^\n]*|/\*.*?\*/)*", piece, re.DOTALL)
        line += encoded.count(b"\n", counted, start)
        counted = start
        ((kind, node),) = raw["stmt"].items()
        statements.append((line + piece.count("\n", 0, lead.end() if lead else 0), kind, node))
    return ParsedFile(rel, statements)


def is_empty(text: str) -> bool:
    """True when the text holds nothing but comments, blanks and semicolons."""
    return not re.search(r"[^\s;]", _COMMENTS.sub("", text))


def migration_findings(
    migration: Migration, *, with_parse_errors: bool = False
) -> list[SqlFinding]:
    """Every finding of this module's rules in a migration's files (forward, rollback and the
    lighter rollback levels). Files that are missing or not UTF-8 are left to the plan's own
    problems. ``with_parse_errors`` adds ``dbkit/parse-error`` and ``dbkit/empty-rollback``
    findings (``dbkit lint`` reports those, ``migrate`` leaves them to the server)."""
    findings: list[SqlFinding] = []
    paths = [migration.up_path, migration.down_path]
    paths += sorted(migration.down_path.parent.glob(f"{migration.name}.*.sql"))
    texts: dict[Path, str] = {}
    for path in paths:
        try:
            texts[path] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            if with_parse_errors:
                message = f"not UTF-8 text: {exc.reason} at byte {exc.start}"
                findings.append(
                    SqlFinding(migration.relpath(path), None, "dbkit/parse-error", message)
                )
        except OSError:
            continue
    counts: dict[Path, int | None] = {}
    for path, text in texts.items():
        rel = migration.relpath(path)
        needs_parse = with_parse_errors or bool(
            _TRANSACTION_WORDS.search(text) or _OTHER_WORDS.search(text)
        )
        if not needs_parse:
            counts[path] = 0 if is_empty(text) else None
            continue
        parsed = parse(text, rel)
        if parsed.statements is None:
            if with_parse_errors and parsed.error is not None:
                line, message = parsed.error
                findings.append(SqlFinding(rel, line, "dbkit/parse-error", message))
            counts[path] = None
            continue
        counts[path] = len(parsed.statements)
        findings += _statement_findings(migration, parsed)
    up = counts.get(migration.up_path)
    if up == 0:
        findings.append(
            SqlFinding(
                migration.relpath(migration.up_path),
                None,
                "dbkit/empty-sql",
                f"no statement (only comments or blanks): revision {migration.revision} would "
                "be recorded as applied while changing nothing",
                severity="warning",
                hint="write its SQL, or delete the migration if it is not needed",
            )
        )
    down = counts.get(migration.down_path)
    if with_parse_errors and up and down == 0:
        findings.append(
            SqlFinding(
                migration.relpath(migration.down_path),
                None,
                "dbkit/empty-rollback",
                f"the rollback has no statement while {migration.relpath(migration.up_path)}"
                f" has {up}: rolling back would leave its changes in place",
            )
        )
    return findings


def _statement_findings(migration: Migration, parsed: ParsedFile) -> list[SqlFinding]:
    findings = []
    for line, kind, node in parsed.statements or ():
        if kind == "TransactionStmt" and node.get("kind") in _TRANSACTION_KINDS:
            keyword = node["kind"].removeprefix("TRANS_STMT_").replace("_", " ")
            if migration.transactional:
                message = (
                    f"{keyword} in a transactional migration: dbkit runs revision "
                    f"{migration.revision} in one transaction of its own, which {keyword} would "
                    "split (part of it kept while dbkit reports it undone, or the reverse)"
                )
                hint = (
                    "remove it; to commit part of the work on its own, put it in a migration of "
                    "its own, or declare `transactional = False` in the revision file to run the "
                    "file statement by statement"
                )
            else:
                message = (
                    f"{keyword} in a migration file: revision {migration.revision} runs "
                    "statement by statement (`transactional = False`) and dbkit undoes a failed "
                    "run with its paired file, which an open transaction would defeat"
                )
                hint = "remove it"
            findings.append(
                SqlFinding(parsed.rel, line, "dbkit/transaction-control", message, hint=hint)
            )
            continue
        limit = _session_limit(kind, node)
        if limit:
            findings.append(
                SqlFinding(
                    parsed.rel,
                    line,
                    "dbkit/session-limits",
                    f"{limit} in a migration file would lift the lock_timeout and "
                    "statement_timeout dbkit keeps in force while it runs",
                    hint='set them for this migration with `lock_timeout = "10s"` or '
                    '`statement_timeout = "30min"` in its revision file',
                )
            )
            continue
        reason = non_transactional_reason(kind, node)
        if reason and migration.transactional:
            findings.append(
                SqlFinding(
                    parsed.rel,
                    line,
                    "dbkit/undeclared-non-transactional",
                    f"{reason} cannot run inside a transaction, but revision "
                    f"{migration.revision} is transactional",
                    hint="declare `transactional = False` in its revision file, or move the "
                    "statement to a migration of its own that does",
                )
            )
    return findings


_TRANSACTION_KINDS = frozenset(
    {
        "TRANS_STMT_BEGIN",
        "TRANS_STMT_START",
        "TRANS_STMT_COMMIT",
        "TRANS_STMT_ROLLBACK",
        "TRANS_STMT_PREPARE",
        "TRANS_STMT_COMMIT_PREPARED",
        "TRANS_STMT_ROLLBACK_PREPARED",
    }
)


def _session_limit(kind: str, node: dict[str, Any]) -> str | None:
    if kind != "VariableSetStmt":
        return None
    what = node.get("kind")
    name = node.get("name")
    if what == "VAR_RESET_ALL":
        return "RESET ALL"
    if name in _LIMITS:
        if what == "VAR_RESET":
            return f"RESET {name}"
        return f"SET {'LOCAL ' if node.get('is_local') else ''}{name}"
    return None


def non_transactional_reason(kind: str, node: dict[str, Any]) -> str | None:
    """What makes a statement impossible inside a transaction block, or None if nothing does.

    ``kind`` and ``node`` are a statement of :func:`parse` (the parser's JSON form).
    """
    if kind == "IndexStmt" and node.get("concurrent"):
        return "CREATE INDEX CONCURRENTLY"
    if kind == "DropStmt" and node.get("concurrent"):
        return "DROP INDEX CONCURRENTLY"
    if kind == "ReindexStmt" and any(
        p.get("DefElem", {}).get("defname") == "concurrently" for p in node.get("params") or ()
    ):
        return "REINDEX CONCURRENTLY"
    if kind == "VacuumStmt" and node.get("is_vacuumcmd"):
        return "VACUUM"
    if kind == "AlterTableStmt":
        for cmd in node.get("cmds") or ():
            definition = cmd.get("AlterTableCmd", {}).get("def") or {}
            if definition.get("PartitionCmd", {}).get("concurrent"):
                return "DETACH PARTITION ... CONCURRENTLY"
    if kind == "ClusterStmt" and not node.get("relation"):
        return "CLUSTER without a table"
    if kind == "DiscardStmt" and node.get("target") == "DISCARD_ALL":
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


def statement_reason(sql: str) -> str | None:
    """:func:`non_transactional_reason` of the first statement of ``sql`` (for tests and tools)."""
    parsed = parse(sql, "")
    if not parsed.statements:
        return None
    _, kind, node = parsed.statements[0]
    return non_transactional_reason(kind, node)


def refuse(
    migrations: list[Migration] | tuple[Migration, ...], cache: ResultCache | None = None
) -> list[SqlFinding]:
    """Raise :class:`PlanError` on the first error finding of the given migrations; return the
    warnings (shown by ``migrate`` for the migrations it runs).

    With a ``cache`` (the check book's, salted with this module's code and pglast's
    installation), a migration whose files were judged before is not parsed again, so a run
    where nothing changed imports no SQL parser."""
    warnings = []
    listings: dict[Path, dict[str, list[Path]]] = {}
    for migration in migrations:
        for finding in _cached_findings(migration, cache, listings):
            if finding.severity == "error":
                raise finding.error()
            warnings.append(finding)
    return warnings


def _level_files(migration: Migration, listings: dict[Path, dict[str, list[Path]]]) -> list[Path]:
    """``rollbacks/NAME.*.sql`` (the rollback levels), from one listing of the directory per
    run instead of one glob per migration (300 globs of a 300-file directory are quadratic)."""
    directory = migration.down_path.parent
    listing = listings.get(directory)
    if listing is None:
        listing = listings[directory] = {}
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            names = []
        for name in names:
            stem, dot, rest = name.partition(".")
            if dot and rest.endswith(".sql"):  # what glob("NAME.*.sql") matches
                listing.setdefault(stem, []).append(directory / name)
    return listing.get(migration.name, [])  # a migration's name holds no dot


def _file_text(migration: Migration, path: Path | str) -> str:
    """What the cache key is made of for one of the migration's files (``path``, or its
    ``"up"`` or ``"down"`` file): the digest of its SQL as the plan knows it (from the file
    index, the checksums use it too: an unchanged file is not read), the raw bytes of a file
    the plan cannot read or of a rollback level's file."""
    if isinstance(path, str):
        try:
            return "sha256 " + (migration.up_digest if path == "up" else migration.down_digest)
        except PlanError:
            path = migration.sql_path(path)
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return "\0missing"


def _cached_findings(
    migration: Migration,
    cache: ResultCache | None,
    listings: dict[Path, dict[str, list[Path]]] | None = None,
) -> list[SqlFinding]:
    if cache is None:
        return migration_findings(migration)
    from dbkit.plan.cache import digest

    parts = ["sqlrules/2", migration.revision, str(migration.transactional)]
    for direction in ("up", "down"):
        parts += [migration.sql_path(direction).name, _file_text(migration, direction)]
    for path in _level_files(migration, {} if listings is None else listings):
        parts += [path.name, _file_text(migration, path)]
    stored = cache.get_or_compute(
        digest(*parts),
        lambda: {"findings": [dataclasses.asdict(f) for f in migration_findings(migration)]},
    )
    return [SqlFinding(**f) for f in stored["findings"]]


_CREATE_EXTENSION = re.compile(r"\bcreate\s+extension\b", re.IGNORECASE)


def extensions(migration: Migration) -> list[tuple[str, str]]:
    """``[(extension, "path:line")]`` of the ``CREATE EXTENSION`` statements of a migration's
    forward file (to compare with what a server offers before running anything)."""
    try:
        text = migration.up_sql
    except PlanError:
        return []
    if not _CREATE_EXTENSION.search(text):
        return []
    rel = migration.relpath(migration.up_path)
    parsed = parse(text, rel)
    return [
        (node["extname"], f"{rel}:{line}")
        for line, kind, node in parsed.statements or ()
        if kind == "CreateExtensionStmt" and node.get("extname")
    ]
