"""The migration plan: revision files, their SQL pairs and checks, read from disk only.

Revision files are declarative (ids, parent, phase, options) and are read with :mod:`ast`,
never executed or imported, so reading a plan costs neither Alembic nor SQLAlchemy and a
plan can be checked completely before any connection is made.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from dbkit.errors import PlanError, ProjectError, RevisionNotFound

if TYPE_CHECKING:
    from dbkit.plan.cache import FileIndex, ResultCache

VERSIONS_DIR = Path("migrations") / "versions"
SQL_DIR = Path("sql")
ROLLBACK_DIR = Path("rollbacks")
VALIDATION_DIR = Path("validations")

_NAME = re.compile(r"^(?P<number>\d+)_(?P<slug>[a-z0-9_]+)$")
# Optional rollback files for the lighter rollback levels, next to the paired rollback:
# rollbacks/NNNN_slug.data.sql and rollbacks/NNNN_slug.feature.sql.
ROLLBACK_LEVELS = ("data", "feature")
_OPTIONS = {
    "transactional": bool,
    "lock_timeout": str,
    "statement_timeout": str,
    "removes_data": list,
}
#: Problems of a plan whose files are all sound but whose chain forks: two branches each added
#: migrations (``dbkit rebase`` linearizes it). Read-only commands still work on such a plan.
BRANCH_RULES = ("dbkit/two-heads", "dbkit/duplicate-number")
REBASE_HINT = (
    "two branches each added migrations: run `dbkit rebase` to put one branch's unapplied "
    "migrations on top of the other's head (docs/teams.md)"
)


@lru_cache(maxsize=64)
def _directory(project_dir: Path, directory: Path) -> Path:
    """``project_dir / directory``, built once per project (paths are built for every
    migration of a plan, and each ``/`` costs)."""
    return project_dir / directory


@dataclass(frozen=True)
class Migration:
    """One migration: a revision file and the files that share its name."""

    revision: str
    down_revision: str | None
    phase: str
    name: str
    description: str
    project_dir: Path
    transactional: bool = True
    lock_timeout: str | None = None
    statement_timeout: str | None = None
    #: tables whose rows (or whole existence) this migration removes on purpose
    #: (``removes_data = ["public.old_events"]``): the zero-data-loss guard lets exactly these
    #: through and records the removal in history.
    removes_data: tuple[str, ...] = ()
    #: the project's file index (stat-trusted digests) when read by :func:`load_plan`
    files: FileIndex | None = field(default=None, compare=False, repr=False)

    @cached_property
    def revision_path(self) -> Path:
        return _directory(self.project_dir, VERSIONS_DIR) / f"{self.name}.py"

    @cached_property
    def up_path(self) -> Path:
        return _directory(self.project_dir, SQL_DIR) / f"{self.name}.sql"

    @cached_property
    def down_path(self) -> Path:
        return _directory(self.project_dir, ROLLBACK_DIR) / f"{self.name}.sql"

    def level_path(self, level: str) -> Path:
        """The rollback file of a lighter level (``data`` or ``feature``); may not exist."""
        return _directory(self.project_dir, ROLLBACK_DIR) / f"{self.name}.{level}.sql"

    @cached_property
    def pre_check_path(self) -> Path:
        return _directory(self.project_dir, VALIDATION_DIR) / f"{self.name}.pre.sql"

    @cached_property
    def post_check_path(self) -> Path:
        return _directory(self.project_dir, VALIDATION_DIR) / f"{self.name}.post.sql"

    @cached_property
    def up_sql(self) -> str:
        return _read_text(self.up_path)

    @cached_property
    def down_sql(self) -> str:
        return _read_text(self.down_path)

    @cached_property
    def every_sql(self) -> tuple[str, ...]:
        """The text of each SQL file of the migration that can run: up, down and the lighter
        rollback levels that exist (what a phase's snapshot must bound)."""
        levels = (self.level_path(level) for level in ("data", "feature"))
        return (self.up_sql, self.down_sql, *(_read_text(p) for p in levels if p.is_file()))

    @cached_property
    def up_digest(self) -> str:
        """SHA-256 of the forward file's text (from the file index when its stat is unchanged)."""
        return self._digest("up")

    @cached_property
    def down_digest(self) -> str:
        return self._digest("down")

    def _digest(self, direction: str) -> str:
        from dbkit.plan.cache import text_digest

        attribute = "up_sql" if direction == "up" else "down_sql"
        if self.files is None or attribute in self.__dict__:
            # (a text read before the index's stat could be older than that stat: not recorded)
            return text_digest(self.sql(direction))
        path = self.sql_path(direction)
        value, text = self.files.digest(path, lambda: _read_text(path))
        if text is not None:
            self.__dict__[attribute] = text  # read once: the cached_property's value
        return value

    @cached_property
    def checksum(self) -> str:
        """SHA-256 over the SQL pair: what decides the schema an applied migration produced.

        With the file index, kept by the pair's digests: files whose stat is unchanged are
        not read."""
        if self.files is None:
            return self._checksum()
        key = f"checksum/1 {self.up_digest} {self.down_digest}"
        return self.files.derived(key, self._checksum)

    def _checksum(self) -> str:
        digest = hashlib.sha256()
        for label, text in (("up", self.up_sql), ("down", self.down_sql)):
            data = text.encode("utf-8")
            digest.update(f"{label}:{len(data)}:".encode())
            digest.update(data)
        return digest.hexdigest()

    def sql(self, direction: str) -> str:
        return self.up_sql if direction == "up" else self.down_sql

    def sql_path(self, direction: str) -> Path:
        return self.up_path if direction == "up" else self.down_path

    def relpath(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.project_dir))
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class Plan:
    """The migrations of a project in order from base to head."""

    project_dir: Path
    migrations: tuple[Migration, ...]
    forked: bool = False  # two branches each added migrations (see load_readable_plan)
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({m.revision: i for i, m in enumerate(self.migrations)})

    def __iter__(self) -> Iterator[Migration]:
        return iter(self.migrations)

    def __len__(self) -> int:
        return len(self.migrations)

    @property
    def head(self) -> str | None:
        return self.migrations[-1].revision if self.migrations else None

    @property
    def heads(self) -> list[str]:
        """The revisions no migration follows (one for a sound plan, more for a forked one)."""
        parents = {m.down_revision for m in self.migrations}
        return [m.revision for m in self.migrations if m.revision not in parents]

    def ancestors(self, revision: str | None, checksum: str | None = None) -> list[Migration]:
        """The migrations a database at ``revision`` has applied, base first.

        In a plan with a duplicate revision number, ``checksum`` (the one recorded for
        ``revision``) picks the file that ran."""
        if revision is None:
            return []
        if not self.forked:
            return list(self.migrations[: self.position(revision) + 1])
        chain: list[Migration] = []
        current: str | None = revision
        while current is not None:
            same = [m for m in self.migrations if m.revision == current]
            if not same:
                raise RevisionNotFound(f"unknown revision {current!r}")
            pick = next((m for m in same if checksum and m.checksum == checksum), same[0])
            chain.append(pick)
            checksum = None
            current = pick.down_revision
        return chain[::-1]

    def children(self, revision: str | None) -> list[Migration]:
        return [m for m in self.migrations if m.down_revision == revision]

    @property
    def phases(self) -> list[str]:
        seen: list[str] = []
        for migration in self.migrations:
            if not seen or seen[-1] != migration.phase:
                seen.append(migration.phase)
        return seen

    def get(self, revision: str) -> Migration:
        return self.migrations[self.position(revision)]

    def position(self, revision: str | None) -> int:
        """Index of ``revision`` in the chain; -1 for base (``None``)."""
        if revision is None:
            return -1
        try:
            return self._index[revision]
        except KeyError:
            raise RevisionNotFound(f"unknown revision {revision!r}") from None

    def resolve(self, target: str) -> str | None:
        """A command-line target (``head``, ``base``, a revision id or a file name) as a revision.

        Returns ``None`` for base.
        """
        if target == "base":
            return None
        if target == "head":
            return self.head
        if target in self._index:
            return target
        matches = [
            m.revision for m in self.migrations if m.name == target or m.name.startswith(target)
        ]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise RevisionNotFound(
                f"revision {target!r} is ambiguous: it matches {', '.join(matches)}"
            )
        raise RevisionNotFound(
            f"unknown revision {target!r}",
            hint="`dbkit info` lists every revision; 'head' and 'base' are also accepted",
        )

    def phase_span(self, phase: str) -> tuple[int, int]:
        """First and last position of a phase's migrations."""
        positions = [i for i, m in enumerate(self.migrations) if m.phase == phase]
        if not positions:
            raise RevisionNotFound(
                f"unknown phase {phase!r}",
                hint=f"phases in order: {', '.join(self.phases) or '(none)'}",
            )
        return positions[0], positions[-1]

    def between(self, start: int, stop: int) -> list[Migration]:
        """Migrations at positions ``start < i <= stop`` (what takes the database from one to the
        other going up)."""
        return list(self.migrations[start + 1 : stop + 1])


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"{path}: file is missing") from None
    except UnicodeDecodeError as exc:
        raise PlanError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def parse_revision_file(
    path: Path,
    project_dir: Path,
    cache: ResultCache | None = None,
    files: FileIndex | None = None,
) -> Migration:
    """Read one revision file's declarations without executing it.

    With a ``cache``, the declarations of a file whose content was read before are taken from
    it instead of parsing the file's Python again; with the file index too, a file whose stat
    is unchanged is not even read. The migration keeps the index for its SQL files."""
    if cache is None:
        values, uses_sql_pair, docstring = _declarations(path, _read_text(path))
    else:
        from dbkit.plan.cache import digest, text_digest

        if files is None:
            source: str | None = _read_text(path)
            value = text_digest(source)  # type: ignore[arg-type]
        else:
            value, source = files.digest(path, lambda: _read_text(path))
        key = digest("revision/2", str(path), value)
        stored = cache.get(key)
        if stored is None:
            if source is None:
                source = _read_text(path)
            values, uses_sql_pair, docstring = _declarations(path, source)
            encoded = {k: _encode(v) for k, v in values.items()}
            cache.put(key, [encoded, uses_sql_pair, docstring])
        else:
            values = {k: _decode(v) for k, v in stored[0].items()}
            uses_sql_pair, docstring = stored[1], stored[2]

    # the file as messages name it: project-relative when inside the project (string work:
    # Path.relative_to costs more than the rest of reading a cached revision file)
    rel = text = str(path)
    inside = f"{project_dir}{os.sep}"
    if text.startswith(inside):
        rel = text[len(inside) :]
    name = path.stem
    match = _NAME.match(name)
    if not match:
        raise PlanError(
            f"{rel}: file name must look like NNNN_slug.py (digits, underscore, lowercase slug)"
        )
    if not uses_sql_pair:
        raise PlanError(
            f"{rel}: not a dbkit SQL-pair revision",
            hint="it must contain `upgrade, downgrade = sql_pair(__file__)`",
        )
    for required in ("revision", "down_revision", "phase"):
        if required not in values:
            raise PlanError(f"{rel}: `{required} = ...` is missing")
    revision = values["revision"]
    down = values["down_revision"]
    phase = values["phase"]
    if not isinstance(revision, str) or not revision:
        raise PlanError(f"{rel}: `revision` must be a non-empty string literal")
    if revision != match["number"]:
        raise PlanError(
            f"{rel}: revision {revision!r} does not match the file's number {match['number']!r}",
            rule="dbkit/name-mismatch",
        )
    if isinstance(down, tuple | list):
        raise PlanError(
            f"{rel}: merge revisions (several down_revisions) are not supported",
            hint="dbkit keeps one linear chain of migrations",
        )
    if down is not None and (not isinstance(down, str) or not down):
        raise PlanError(f"{rel}: `down_revision` must be a string literal or None")
    if not isinstance(phase, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", phase):
        raise PlanError(f"{rel}: `phase` must be a lowercase name like 'crm' or 'foundation'")
    options: dict[str, object] = {}
    for option, kind in _OPTIONS.items():
        if option in values:
            value = values[option]
            if not isinstance(value, kind):
                raise PlanError(f"{rel}: `{option}` must be a {kind.__name__} literal")
            options[option] = value
    if "removes_data" in options:
        tables = options["removes_data"]
        if not tables or not all(
            isinstance(t, str) and re.fullmatch(r"[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?", t)
            for t in tables  # type: ignore[union-attr]
        ):
            raise PlanError(
                f"{rel}: `removes_data` must be a non-empty list of table names like "
                '["public.old_events"]'
            )
        options["removes_data"] = tuple(tables)  # type: ignore[arg-type]
    for option in ("lock_timeout", "statement_timeout"):
        if option in options:
            from dbkit.settings import validate_duration

            validate_duration(str(options[option]), f"{rel}: {option}")
    doc = docstring
    return Migration(
        revision=revision,
        down_revision=down,
        phase=phase,
        name=name,
        description=doc.splitlines()[0] if doc else "",
        project_dir=project_dir,
        files=files,
        **options,  # type: ignore[arg-type]
    )


_NOT_LITERAL = object()


def _calls(node: ast.AST, function: str) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == function) or (
        isinstance(func, ast.Attribute) and func.attr == function
    )


@dataclass(frozen=True)
class Problem:
    """One structural problem of a plan, with the rule it breaks (``dbkit lint`` lists them all,
    :func:`load_plan` refuses the plan on the first)."""

    rule: str  # e.g. dbkit/missing-rollback
    message: str  # the one-line message, location included, as load_plan raises it
    path: str | None = None  # project-relative file the problem is about
    line: int | None = None
    hint: str | None = None

    @property
    def detail(self) -> str:
        """The message without its leading ``path:`` or ``path:line:`` location."""
        if self.path:
            match = re.match(rf"^{re.escape(self.path)}(:\d+)?: ", self.message)
            if match:
                return self.message[match.end() :]
        return self.message

    def error(self) -> PlanError:
        return PlanError(self.message, hint=self.hint)


def load_plan(project_dir: Path | str) -> Plan:
    """Read and check the whole plan; raise :class:`PlanError` on the first problem found.

    The checks are those of :func:`scan_plan`, applied in three stages: revision files,
    then the files around them (all problems of that stage in one message), then the chain.
    """
    from dbkit.plan.cache import FileIndex

    project = _project(project_dir)
    files = FileIndex(project)
    scan = _read_revisions(project, files)
    if scan.problems:
        raise scan.problems[0].error()
    problems = _file_problems(project, scan)
    if problems:
        raise PlanError(_summarize([p.message for p in problems]), hint=problems[0].hint)
    ordered, problems = _chain(scan.migrations)
    if problems:
        raise problems[0].error()
    # Every migration's checksum now, so the index is complete when it is written: a file
    # that cannot be read raises later, where it is used, as without the index.
    for migration in ordered:
        with suppress(PlanError, OSError):
            migration.checksum  # noqa: B018
    files.save()
    return Plan(project, tuple(ordered))


#: file problems a read-only command reports without refusing (``files_may_be_missing``)
FILE_RULES = ("dbkit/missing-rollback", "dbkit/missing-sql", "dbkit/orphan-file")


def load_readable_plan(
    project_dir: Path | str, *, files_may_be_missing: bool = False
) -> tuple[Plan, list[Problem]]:
    """The plan for read-only commands: like :func:`load_plan`, but a plan that only forks
    (two heads, a duplicate revision number: two branches each added migrations) is returned
    with its problems instead of refused.

    The forked plan's migrations are in a parent-before-child order (each branch after the
    other, by file name), so :meth:`Plan.ancestors` answers what a database at a revision has
    applied; its :attr:`Plan.head` is meaningless and :attr:`Plan.heads` lists the branch tips.
    """
    try:
        return load_plan(project_dir), []
    except PlanError:
        pass
    project = _project(project_dir)
    scan = _read_revisions(project)
    problems = scan.problems + _file_problems(project, scan)
    tolerated = BRANCH_RULES + (FILE_RULES if files_may_be_missing else ())
    if any(p.rule not in tolerated for p in problems):
        raise next(p for p in problems if p.rule not in tolerated).error()
    if not any(p.rule in BRANCH_RULES for p in problems):
        # a linear chain whose files are incomplete (a pending migration's rollback not
        # written yet): status still shows the database, and names the problem
        ordered, chain_problems = _chain(scan.migrations)
        if not chain_problems:
            return Plan(project, tuple(ordered)), problems
    ordered, problems = _tree(scan.migrations)
    if any(p.rule not in BRANCH_RULES for p in problems):
        raise next(p for p in problems if p.rule not in BRANCH_RULES).error()
    problems = _file_problems(project, scan) + problems
    return Plan(project, tuple(ordered), forked=True), problems


def _tree(migrations: list[Migration]) -> tuple[list[Migration], list[Problem]]:
    """A forked chain in parent-before-child order (by name among siblings), with its
    problems; a two-heads problem for each fork (duplicate numbers are reported apart)."""
    names = {m.name for m in migrations}
    by_revision: dict[str, list[Migration]] = {}
    for migration in migrations:
        by_revision.setdefault(migration.revision, []).append(migration)
    children: dict[str | None, list[Migration]] = {}
    for migration in migrations:
        children.setdefault(migration.down_revision, []).append(migration)
    problems: list[Problem] = []
    roots = children.get(None, [])
    if len(roots) != 1:
        return [], [Problem("dbkit/broken-chain", "no single base migration")]
    ordered: list[Migration] = []
    stack = [roots[0]]
    seen: set[str] = set()
    while stack:
        current = stack.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        ordered.append(current)
        kids = sorted(children.get(current.revision, []), key=lambda m: m.name)
        if len(kids) > 1 and len(by_revision[current.revision]) == 1:
            problems.append(
                Problem(
                    "dbkit/two-heads",
                    f"two heads: revisions {', '.join(k.revision for k in kids)} all follow "
                    f"{current.revision}",
                    kids[-1].relpath(kids[-1].revision_path),
                    hint=REBASE_HINT,
                )
            )
        stack.extend(reversed(kids))
    if seen != names:
        return [], [Problem("dbkit/broken-chain", "revisions detached from base")]
    return ordered, problems


def scan_plan(project_dir: Path | str) -> tuple[list[Migration], list[Problem]]:
    """The migrations whose revision files read (in chain order when the chain holds, else in
    file name order) and every structural problem of the plan, not only the first (for
    ``dbkit lint``).

    The chain (one base, one head, phases consecutive) is only judged when every revision file
    reads and no number is used twice: otherwise it would report the same fault again."""
    project = _project(project_dir)
    scan = _read_revisions(project)
    problems = scan.problems + _file_problems(project, scan)
    migrations = scan.migrations
    if not any(p.rule in _CHAIN_BLOCKERS for p in problems):
        ordered, chain_problems = _chain(scan.migrations)
        problems += chain_problems
        migrations = ordered or migrations
    return migrations, problems


_CHAIN_BLOCKERS = {"dbkit/revision-file", "dbkit/name-mismatch", "dbkit/duplicate-number"}


@dataclass
class _Scan:
    migrations: list[Migration]
    problems: list[Problem]
    names: set[str]  # stems of every revision file, readable or not


def _project(project_dir: Path | str) -> Path:
    project = Path(project_dir)
    if not (project / VERSIONS_DIR).is_dir():
        raise ProjectError(
            f"{project}: not a dbkit project (no {VERSIONS_DIR}/ directory)",
            hint="run `dbkit init` to create one, or pass --project",
        )
    return project


def _declarations(path: Path, source: str) -> tuple[dict[str, object], bool, str]:
    """The literal assignments of a revision file, whether it calls ``sql_pair``, and its
    docstring."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise PlanError(f"{path}:{exc.lineno}: not valid Python: {exc.msg}") from None
    values: dict[str, object] = {}
    uses_sql_pair = False
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    values[target.id] = _NOT_LITERAL
            elif isinstance(target, ast.Tuple) and _calls(node.value, "sql_pair"):
                uses_sql_pair = True
    return values, uses_sql_pair, (ast.get_docstring(tree) or "").strip()


def _encode(value: object) -> object:
    """A declaration as JSON: plain scalars as they are, anything else by its repr."""
    if value is _NOT_LITERAL:
        return {"not_literal": True}
    if value is None or type(value) in (str, int, bool):
        return value
    return {"repr": repr(value)}


def _decode(value: object) -> object:
    if isinstance(value, dict):
        return _NOT_LITERAL if value.get("not_literal") else ast.literal_eval(value["repr"])
    return value


def revision_cache(project: Path) -> ResultCache:
    """The project's cache of revision files' declarations (``.dbkit/cache/revisions.json``)."""
    from dbkit.plan.cache import ResultCache, code_stamp

    return ResultCache(project, "revisions", code_stamp("dbkit.plan.graph"))


def _read_revisions(project: Path, files: FileIndex | None = None) -> _Scan:
    scan = _Scan([], [], set())
    cache = revision_cache(project)
    try:
        _read_each_revision(project, scan, cache, files)
    finally:
        cache.save()
    return scan


def _read_each_revision(
    project: Path, scan: _Scan, cache: ResultCache, files: FileIndex | None = None
) -> None:
    versions = project / VERSIONS_DIR
    try:  # what glob("*.py") lists, in name order, without a Path per name to sort
        names = sorted(n for n in os.listdir(versions) if n.endswith(".py"))
    except OSError:
        names = []
    for path in (versions / n for n in names):
        if path.name.startswith("_"):
            continue
        scan.names.add(path.stem)
        try:
            scan.migrations.append(parse_revision_file(path, project, cache, files))
        except PlanError as exc:
            rel = str(VERSIONS_DIR / path.name)
            message = exc.message.replace(str(path), rel, 1)
            match = re.match(rf"^{re.escape(rel)}:(\d+): ", message)
            scan.problems.append(
                Problem(
                    exc.rule or "dbkit/revision-file",
                    message,
                    rel,
                    int(match[1]) if match else None,
                    exc.hint,
                )
            )


def _file_problems(project: Path, scan: _Scan) -> list[Problem]:
    """Duplicate numbers, missing SQL or rollback files, files no revision names."""
    problems: list[Problem] = []
    by_number: dict[str, list[Migration]] = {}
    for migration in scan.migrations:
        by_number.setdefault(migration.revision, []).append(migration)
    for number, same in by_number.items():
        if len(same) > 1:
            problems.append(
                Problem(
                    "dbkit/duplicate-number",
                    f"duplicate revision number {number}: {', '.join(m.name for m in same)}",
                    same[-1].relpath(same[-1].revision_path),
                    hint=REBASE_HINT,
                )
            )

    # One listing per directory (not a stat per file): what glob("*.sql") lists, and which of
    # those are files (following symbolic links, as Path.is_file does).
    listed: dict[Path, list[str]] = {}
    regular: dict[Path, set[str]] = {}
    for directory in (SQL_DIR, ROLLBACK_DIR):
        listed[directory], regular[directory] = _sql_files(project / directory)
    for migration in scan.migrations:
        for directory, what, rule in (
            (SQL_DIR, "SQL", "dbkit/missing-sql"),
            (ROLLBACK_DIR, "rollback", "dbkit/missing-rollback"),
        ):
            if f"{migration.name}.sql" not in regular[directory]:
                path = migration.up_path if directory == SQL_DIR else migration.down_path
                rel = migration.relpath(path)
                problems.append(
                    Problem(
                        rule,
                        f"{rel}: {what} file missing for revision {migration.revision}",
                        rel,
                    )
                )
    levels = tuple(f".{x}" for x in ROLLBACK_LEVELS)
    for directory in (SQL_DIR, ROLLBACK_DIR):
        for file_name in listed[directory]:
            stem = file_name[: -len(".sql")]  # every listed name ends with .sql
            if directory == ROLLBACK_DIR and stem.endswith(levels):
                stem = stem.rsplit(".", 1)[0]
            if stem not in scan.names:
                rel = str(directory / file_name)
                problems.append(
                    Problem(
                        "dbkit/orphan-file",
                        f"{rel}: orphan file (no revision file {VERSIONS_DIR / (stem + '.py')})",
                        rel,
                    )
                )
    return problems


def _sql_files(directory: Path) -> tuple[list[str], set[str]]:
    """The sorted names ``glob("*.sql")`` lists in ``directory``, and those that are files."""
    names: list[str] = []
    files: set[str] = set()
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.endswith(".sql"):  # pathlib's glob lists hidden names too
                    names.append(entry.name)
                    if entry.is_file():
                        files.add(entry.name)
    except OSError:  # no such directory: every file of it is missing
        pass
    return sorted(names), files


def _chain(migrations: list[Migration]) -> tuple[list[Migration], list[Problem]]:
    """The single chain base -> head, and the problems that break it or its phases."""
    if not migrations:
        return [], []
    problems: list[Problem] = []
    by_revision = {m.revision: m for m in migrations}
    children: dict[str | None, list[Migration]] = {}
    for migration in migrations:
        if migration.down_revision is not None and migration.down_revision not in by_revision:
            rel = migration.relpath(migration.revision_path)
            problems.append(
                Problem(
                    "dbkit/broken-chain",
                    f"{rel}: down_revision {migration.down_revision!r} does not exist",
                    rel,
                )
            )
        children.setdefault(migration.down_revision, []).append(migration)
    roots = children.get(None, [])
    if not roots:
        problems.append(
            Problem(
                "dbkit/broken-chain",
                "no base migration (one revision must have down_revision = None)",
            )
        )
    elif len(roots) > 1:
        problems.append(
            Problem(
                "dbkit/broken-chain",
                f"several base migrations: {', '.join(m.revision for m in roots)}",
                roots[-1].relpath(roots[-1].revision_path),
                hint="exactly one revision may have down_revision = None",
            )
        )
    for parent, kids in children.items():
        if len(kids) > 1:
            problems.append(
                Problem(
                    "dbkit/two-heads",
                    f"two heads: revisions {', '.join(k.revision for k in kids)} all follow "
                    f"{parent}",
                    kids[-1].relpath(kids[-1].revision_path),
                    hint=REBASE_HINT,
                )
            )
    if problems:
        return [], problems

    ordered: list[Migration] = []
    current: Migration | None = roots[0]
    while current is not None:
        ordered.append(current)
        kids = children.get(current.revision, [])
        current = kids[0] if kids else None
    if len(ordered) != len(migrations):
        stray = sorted(set(by_revision) - {m.revision for m in ordered})
        return [], [
            Problem(
                "dbkit/broken-chain",
                f"revisions {', '.join(stray)} form a cycle or are detached from base",
            )
        ]

    seen: list[str] = []
    for migration in ordered:
        if seen and seen[-1] == migration.phase:
            continue
        if migration.phase in seen:
            problems.append(
                Problem(
                    "dbkit/phase-order",
                    f"phase {migration.phase!r} resumes at revision {migration.revision} after "
                    f"phase {seen[-1]!r}",
                    migration.relpath(migration.revision_path),
                    hint="a phase's migrations must be consecutive",
                )
            )
        seen.append(migration.phase)
    return ordered, problems


def _summarize(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{problems[0]} (and {len(problems) - 1} more: {'; '.join(problems[1:4])})"
