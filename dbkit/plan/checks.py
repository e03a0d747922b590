"""Checks: plain-SQL queries that return offending rows, and pass when they return none.

A check file holds one or more checks. Each starts with a ``-- check: name`` line; the
comment lines right after it describe it; the single query that follows, up to the next
``-- check:`` line, returns the rows that break the rule::

    -- check: users_have_a_subscription
    -- Every user got a plan in the free-tier migration.
    SELECT u.id, u.email
    FROM users AS u
    WHERE NOT EXISTS (SELECT FROM user_subscriptions AS s WHERE s.user_id = u.id);

The query is pasted into psql as it is. Files of key queries for the performance guard use
``-- key-query: name`` instead, and a phase's pre-check file may declare the tables whose
content must survive the phase unchanged with ``-- preserve: table, other_table``.

Where the files live (all optional):

* ``validations/NNNN_slug.pre.sql`` / ``.post.sql``: around one migration;
* ``validations/phases/<phase>.pre.sql`` / ``.post.sql``: before a phase's first migration and
  after its last;
* ``validations/phases/_every.pre.sql`` / ``.post.sql`` / ``.perf.sql``: with every phase's
  own (a shared key query only around phases that start with its tables in place);
* ``validations/phases/<phase>.perf.sql``: the key queries a phase must not slow down.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbkit.errors import PlanError
from dbkit.plan.graph import VALIDATION_DIR
from dbkit.text import plural

if TYPE_CHECKING:
    from dbkit.plan.cache import ResultCache
    from dbkit.plan.graph import Migration, Plan
    from dbkit.plan.sqltext import Statement

_HEADER = re.compile(r"^--\s*(check|key-query)\s*:\s*(?P<name>\S.*?)\s*$", re.IGNORECASE)
_PRESERVE = re.compile(r"^--\s*preserve\s*:\s*(?P<tables>.+?)\s*$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
SAMPLE_ROWS = 5
# validations/phases/_every.pre.sql, _every.post.sql and _every.perf.sql hold checks and key
# queries shared by every phase; phase names cannot start with "_", so it never collides.
EVERY_PHASE = "_every"


@dataclass(frozen=True)
class Check:
    """One named query from a check file."""

    name: str
    kind: str  # check | key-query
    query: str
    path: Path
    line: int  # line of the `-- check:` header
    description: str = ""
    origin: str = ""  # where a check made by dbkit comes from (not a file): its location

    def location(self, project_dir: Path | None = None) -> str:
        if self.origin:
            return self.origin
        path = self.path
        if project_dir is not None and path.is_relative_to(project_dir):
            path = path.relative_to(project_dir)
        return f"{path}:{self.line}"


@dataclass(frozen=True)
class CheckFile:
    path: Path
    checks: tuple[Check, ...]
    preserve: tuple[str, ...] = ()


@dataclass
class CheckResult:
    """What one check found."""

    name: str
    location: str
    rows_found: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    duration_ms: float = 0.0
    when: str = ""  # e.g. "pre 0007_leads", "post phase crm"

    @property
    def passed(self) -> bool:
        return self.rows_found == 0

    @property
    def found(self) -> str:
        """What it found, in words: ``3 rows``, or for a data-preservation check what the
        table lost (``public.users lost 10 of 25 rows``)."""
        problem = self.sample[0] if self.sample else {}
        if self.location.endswith("data preservation") and "table" in problem:
            return _loss(problem)
        return plural(self.rows_found, "row")

    def rows(self) -> list[str]:
        """The sample rows as ``column=value, ...`` lines (not for preservation checks, whose
        one row :attr:`found` says already)."""
        if self.location.endswith("data preservation"):
            return []
        return [format_row(row) for row in self.sample]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "location": self.location,
            "when": self.when,
            "passed": self.passed,
            "rows_found": self.rows_found,
            "sample": self.sample,
            "duration_ms": round(self.duration_ms, 3),
        }


def describe_failures(failed: list[CheckResult], *, with_when: bool = False) -> str:
    """One line naming each failed check, where it is, what it found and its first row."""
    parts = []
    for result in failed:
        rows = result.rows()
        first = f", first: {rows[0]}" if rows else ""
        when = f"{result.when} " if with_when else ""
        verb = "" if result.location.endswith("data preservation") else "found "
        parts.append(f"{when}{result.name} ({result.location}) {verb}{result.found}{first}")
    return "; ".join(parts)


def format_row(row: dict[str, Any]) -> str:
    """A sample row as a DBA reads it: ``id=7, email=NULL, name='Ann Lee'``."""
    return ", ".join(f"{column}={_value(value)}" for column, value in row.items())


def _value(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    text = str(value)
    if text and all(c.isalnum() or c in "_.-:@/+" for c in text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _loss(problem: dict[str, Any]) -> str:
    table = problem["table"]
    if "missing_columns" in problem:
        columns = ", ".join(problem["missing_columns"])
        return (
            f"{table} lost column{'s' if len(problem['missing_columns']) != 1 else ''} "
            f"{columns} ({plural(int(problem.get('lost') or 0), 'row')} held data there)"
        )
    if "changed_or_removed_rows" in problem:
        changed = int(problem["changed_or_removed_rows"])
        text = f"{table}: {plural(changed, 'preserved row')} changed or removed"
        ranges = problem.get("ranges")
        key = problem.get("key")
        if ranges and key:
            shown = ", ".join(_key_range(r) for r in ranges)
            total = int(problem.get("ranges_changed") or len(ranges))
            text += f" in key ({', '.join(key)}) {'range' if total == 1 else 'ranges'} {shown}"
            if total > len(ranges):
                text += f" and {plural(total - len(ranges), 'more range')}"
        elif ranges:
            text += " (no primary key: the table is digested whole)"
        return text
    if "written_although_proven" in problem:
        done = problem["written_although_proven"]
        return (
            f"{table}: preserved, and proven not written by the phase's SQL, yet the migration "
            f"deleted {plural(int(done['deleted']), 'row')} and updated "
            f"{plural(int(done['updated']), 'row')} of it"
        )
    before = int(problem.get("before") or 0)
    if problem.get("after") is None:
        return f"{table} is gone with its {plural(before, 'row')}"
    return f"{table} lost {int(problem.get('lost') or 0)} of {plural(before, 'row')}"


def _key_range(r: dict[str, Any]) -> str:
    """``1..10000`` for a one-column key, ``(1, a)..(9, z)`` for a composite one."""

    def key(values: list[str]) -> str:
        return values[0] if len(values) == 1 else "(" + ", ".join(values) + ")"

    return f"{key(r['from'])}..{key(r['to'])}"


def parse_check_file(path: Path, cache: ResultCache | None = None) -> CheckFile:
    """Parse a check file; a malformed one is a PlanError naming file and line.

    With a ``cache`` (:func:`check_cache`), a file whose content was parsed before is not
    parsed again (no SQL parser is imported); its PlanError is stored too.
    """
    if not path.is_file():
        return CheckFile(path, ())
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})",
            hint="save the file as UTF-8",
            rule="dbkit/validation-parse",
        ) from None
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the check file: {exc.strerror}") from None
    if cache is None:
        return _parse_check_text(path, text)
    from dbkit.plan.cache import digest

    key = digest(str(path), text)
    stored = cache.get(key)
    if stored is None:
        try:
            parsed = _parse_check_text(path, text)
        except PlanError as exc:
            cache.put(key, {"error": [exc.message, exc.hint, exc.rule]})
            raise
        stored = {
            "checks": [[c.name, c.kind, c.query, c.line, c.description] for c in parsed.checks],
            "preserve": list(parsed.preserve),
        }
        cache.put(key, stored)
        return parsed
    if "error" in stored:
        message, hint, rule = (stored["error"] + [None])[:3]
        raise PlanError(message, hint=hint, rule=rule)
    checks = tuple(
        Check(name=name, kind=kind, query=query, path=path, line=line, description=description)
        for name, kind, query, line, description in stored["checks"]
    )
    return CheckFile(path, checks, tuple(stored["preserve"]))


def check_cache(project_dir: Path) -> ResultCache:
    """The project's cache of parsed check files (``.dbkit/cache/checks.json``), salted with
    this module's and the SQL module's code and pglast's installation."""
    from dbkit.plan.cache import ResultCache, code_stamp, package_stamp

    salt = (
        code_stamp("dbkit.plan.checks", "dbkit.plan.sqltext", "dbkit.plan.sqlrules")
        + "|"
        + package_stamp("pglast")
    )
    return ResultCache(project_dir, "checks", salt)


def _parse_check_text(path: Path, text: str) -> CheckFile:
    lines = text.splitlines()
    checks: list[Check] = []
    preserve: list[str] = []
    current: dict[str, Any] | None = None
    body: list[str] = []

    def finish() -> None:
        if current is None:
            return
        query = "\n".join(body).strip()
        checks.append(_make_check(path, current, query))

    for number, line in enumerate(lines, start=1):
        header = _HEADER.match(line.strip())
        if header:
            finish()
            name = header["name"]
            if not _NAME.match(name):
                raise PlanError(f"{path}:{number}: check name {name!r} must be a plain identifier")
            if any(c.name == name for c in checks):
                raise PlanError(f"{path}:{number}: check {name!r} is defined twice in this file")
            current = {"name": name, "kind": header[1].lower(), "line": number, "doc": []}
            body = []
            continue
        preserved = _PRESERVE.match(line.strip())
        if preserved:
            preserve.extend(t.strip() for t in preserved["tables"].split(",") if t.strip())
            continue
        if current is None:
            if line.strip() and not line.strip().startswith("--"):
                raise PlanError(
                    f"{path}:{number}: SQL before the first `-- check: name` line",
                    hint="every query in a check file needs a `-- check: name` header",
                )
            continue
        if not body and line.strip().startswith("--"):
            current["doc"].append(line.strip().lstrip("-").strip())
            continue
        body.append(line)
    finish()
    return CheckFile(path, tuple(checks), tuple(preserve))


def _make_check(path: Path, header: dict[str, Any], query: str) -> Check:
    where = f"{path}:{header['line']}"
    if not query:
        raise PlanError(f"{where}: check {header['name']!r} has no query")
    statements = _statements(query)
    if statements is None:
        raise PlanError(f"{where}: check {header['name']!r} does not parse as SQL")
    if not statements:
        raise PlanError(f"{where}: check {header['name']!r} has no query")
    if len(statements) > 1:
        raise PlanError(f"{where}: check {header['name']!r} holds more than one statement")
    kind, statement, node = statements[0]
    if kind != "SelectStmt":
        raise PlanError(
            f"{where}: check {header['name']!r} must be a SELECT (or WITH ... SELECT) returning "
            f"the offending rows, not {_statement_in_words(kind)}"
        )
    side_effect = _side_effect(node)
    if side_effect:
        raise PlanError(
            f"{where}: check {header['name']!r} {side_effect}: a check only reads",
            hint="checks run read-only, in the middle of a migration; select the offending "
            "rows without changing or locking them",
            rule="dbkit/check-side-effect",
        )
    return Check(
        name=header["name"],
        kind=header["kind"],
        query=statement,
        path=path,
        line=header["line"],
        description=" ".join(header["doc"]),
    )


_LEADING = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)


def _statements(text: str) -> list[tuple[str, str, dict[str, Any]]] | None:
    """``[(node kind, statement text, node)]`` of ``text`` from one parse (None if it does not
    parse); the text without leading comments and the closing semicolon, the node in the
    parser's JSON form."""
    import json

    from pglast.parser import ParseError, parse_sql_json

    try:
        parsed = json.loads(parse_sql_json(text))
    except ParseError:
        return None
    data = text.encode("utf-8")  # the parser's locations count bytes
    statements = []
    for raw in parsed.get("stmts", []):
        ((kind, node),) = raw["stmt"].items()
        start = raw.get("stmt_location", 0)
        length = raw.get("stmt_len", 0)
        piece = data[start : start + length if length else len(data)].decode("utf-8")
        piece = piece[_LEADING.match(piece).end() :].rstrip().removesuffix(";").rstrip()
        statements.append((kind, piece, node))
    return statements


def _statement_kind(text: str) -> str | None:
    """The parser's node name of a single statement (``SelectStmt``...), or None."""
    statements = _statements(text)
    return statements[0][0] if statements else None


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


_WRITES = {
    "InsertStmt": "INSERT",
    "UpdateStmt": "UPDATE",
    "DeleteStmt": "DELETE",
    "MergeStmt": "MERGE",
}
_LOCKS = {
    "LCS_FORUPDATE": "FOR UPDATE",
    "LCS_FORNOKEYUPDATE": "FOR NO KEY UPDATE",
    "LCS_FORSHARE": "FOR SHARE",
    "LCS_FORKEYSHARE": "FOR KEY SHARE",
}


def _side_effect(node: Any) -> str | None:
    """What in a SELECT's tree would change or lock rows: a data-modifying WITH query, a
    locking clause (FOR UPDATE/SHARE), SELECT INTO. None for a plain query.

    A function the query calls may still write: checks also run in a read-only transaction,
    where the server refuses that."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, list):
            stack.extend(current)
            continue
        if not isinstance(current, dict):
            continue
        for key, value in current.items():
            if key in _WRITES:
                return f"modifies data ({_WRITES[key]} in a WITH query)"
            if key == "lockingClause" and value:
                strength = value[0].get("LockingClause", {}).get("strength", "")
                return f"locks the rows it reads ({_LOCKS.get(strength, 'FOR UPDATE/SHARE')})"
            if key == "intoClause" and value:
                return "creates a table (SELECT INTO)"
            stack.append(value)
    return None


PHASE_DIR = VALIDATION_DIR / "phases"


class CheckBook:
    """Parsed check files of a project, read once; parse errors surface before connecting."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._files: dict[Path, CheckFile] = {}
        self._listings: dict[Path, set[str]] = {}
        self._cache = check_cache(plan.project_dir)

    def file(self, path: Path) -> CheckFile:
        if path not in self._files:
            if path.name not in self._files_in(path.parent):
                self._files[path] = CheckFile(path, ())  # no such file: no checks
            else:
                self._files[path] = parse_check_file(path, self._cache)
        return self._files[path]

    def _files_in(self, directory: Path) -> set[str]:
        """The names of the files in ``directory``, from one listing of it (not a stat per
        migration and kind: most migrations have no check files)."""
        files = self._listings.get(directory)
        if files is None:
            files = set()
            try:
                with os.scandir(directory) as entries:
                    files = {e.name for e in entries if e.is_file()}  # follows links, as is_file
            except OSError:
                pass
            self._listings[directory] = files
        return files

    def phase_file(self, phase: str, kind: str) -> CheckFile:
        """A phase's checks of one kind, followed by those every phase shares (a shared key
        query is timed only around phases that start with its tables in place)."""
        own = self.file(self.plan.project_dir / PHASE_DIR / f"{phase}.{kind}.sql")
        shared = self.file(self.plan.project_dir / PHASE_DIR / f"{EVERY_PHASE}.{kind}.sql")
        if not shared.checks:
            return own
        return CheckFile(own.path, own.checks + shared.checks, own.preserve)

    def preload(self, migrations: list[Migration]) -> None:
        """Parse every file the given migrations and their phases may need."""
        try:
            for migration in migrations:
                self.file(migration.pre_check_path)
                self.file(migration.post_check_path)
            for phase in {m.phase for m in migrations}:
                for kind in ("pre", "post", "perf"):
                    self.phase_file(phase, kind)
        finally:
            self.save()

    def could_remove_rows(self, sql: str) -> bool:
        """:func:`dbkit.plan.sqltext.could_remove_rows`, kept in the cache by the SQL's content
        (so a migration seen before needs no SQL parser)."""
        from dbkit.plan import sqltext
        from dbkit.plan.cache import digest

        return self._cache.get_or_compute(
            digest("could_remove_rows/2", sql), lambda: sqltext.could_remove_rows(sql)
        )

    def writes(self, sql: str) -> dict[str, Any]:
        """:func:`dbkit.plan.sqltext.writes`, kept in the cache by the SQL's content."""
        from dbkit.plan import sqltext
        from dbkit.plan.cache import digest

        return self._cache.get_or_compute(digest("writes/1", sql), lambda: sqltext.writes(sql))

    def body_writes(self, language: str, body: str, definition: str | None) -> dict[str, Any]:
        """:func:`dbkit.plan.sqltext.body_writes`, kept in the cache by the body's content."""
        from dbkit.plan import sqltext
        from dbkit.plan.cache import digest

        key = digest("body_writes/1", language, body, definition or "")
        return self._cache.get_or_compute(
            key, lambda: sqltext.body_writes(language, body, definition)
        )

    def statements(self, sql: str) -> list[Statement]:
        """:func:`dbkit.plan.sqltext.split` of ``sql`` with each statement's parse results
        (``CREATE INDEX CONCURRENTLY`` target, relations) kept in the cache by the SQL's
        content, so a non-transactional migration seen before runs without the SQL parser."""
        from dbkit.plan import sqltext
        from dbkit.plan.cache import digest

        facts = self._cache.get_or_compute(
            digest("statements/1", sql), lambda: sqltext.statement_facts(sql)
        )
        return sqltext.from_facts(sql, facts)

    @property
    def cache(self) -> ResultCache:
        """The content-keyed cache the book reads and writes (shared by the statement rules)."""
        return self._cache

    def save(self) -> None:
        """Write what was parsed to the cache (parsed files, and their errors, are not parsed
        again)."""
        self._cache.save()


def _statement_in_words(node: str) -> str:
    """``an UPDATE statement`` for the parser's ``UpdateStmt`` (the words a DBA reads)."""
    words = {
        "UpdateStmt": "UPDATE",
        "InsertStmt": "INSERT",
        "DeleteStmt": "DELETE",
        "MergeStmt": "MERGE",
        "CreateStmt": "CREATE TABLE",
        "DropStmt": "DROP",
        "AlterTableStmt": "ALTER TABLE",
        "TruncateStmt": "TRUNCATE",
        "TransactionStmt": "transaction control",
        "VariableSetStmt": "SET",
        "CallStmt": "CALL",
        "ExplainStmt": "EXPLAIN",
        "CopyStmt": "COPY",
        "DoStmt": "DO",
    }
    word = words.get(node, node.removesuffix("Stmt").upper())
    return f"{_article(word)} {word} statement"
