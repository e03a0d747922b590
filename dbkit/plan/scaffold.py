"""``dbkit init`` and ``dbkit new``: a project's and a migration's files, always as a set.

Everything is written from the templates under ``dbkit/plan/templates/`` so that a new project's
Alembic environment is the same one this repository uses (a test keeps the two identical), and
a new migration always arrives with its rollback and its validation files. Nothing is
overwritten: any file in the way stops the command before a single file is written.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template

from dbkit.errors import DbkitError, ProjectError, UsageError
from dbkit.plan.graph import ROLLBACK_DIR, SQL_DIR, VALIDATION_DIR, VERSIONS_DIR, load_plan
from dbkit.settings import id_style

TEMPLATES = Path(__file__).parent / "templates"

#: Files `init_project` copies verbatim: project-relative path -> template path.
PROJECT_FILES = {
    Path("alembic.ini"): TEMPLATES / "project" / "alembic.ini",
    Path("migrations") / "env.py": TEMPLATES / "project" / "migrations" / "env.py",
    Path("migrations") / "script.py.mako": TEMPLATES / "project" / "migrations" / "script.py.mako",
    Path("dbkit.toml"): TEMPLATES / "project" / "dbkit.toml",
    Path(".sqlfluff"): TEMPLATES / "project" / ".sqlfluff",
    Path(".squawk.toml"): TEMPLATES / "project" / ".squawk.toml",
}
PROJECT_DIRS = (VERSIONS_DIR, SQL_DIR, ROLLBACK_DIR, VALIDATION_DIR)
GITIGNORE_LINE = ".dbkit/"

_NAME_CHARS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")
_PHASE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_SLUG = 50


def init_project(directory: Path, *, ids: str = "sequential") -> list[Path]:
    """Create a dbkit project in ``directory`` (created if missing); return the paths written.

    ``ids`` is the revision id style ``dbkit new`` uses (``sequential`` or ``timestamp``),
    recorded in the new dbkit.toml. Refuses a directory that already holds a dbkit project,
    or any file it would write.
    """
    from dbkit.settings import validate_id_style

    try:
        validate_id_style(ids)
    except DbkitError as exc:
        raise UsageError(exc.message, hint=exc.hint) from None
    directory = Path(directory)
    if (directory / VERSIONS_DIR).is_dir():
        raise UsageError(
            f"{directory}: already a dbkit project ({VERSIONS_DIR}/ exists)",
            hint="use `dbkit new NAME --phase P` to add a migration",
        )
    in_the_way = [rel for rel in PROJECT_FILES if (directory / rel).exists()]
    if in_the_way:
        raise UsageError(
            f"{directory}: {', '.join(map(str, in_the_way))} already exist(s); nothing was written",
            hint="move them aside or run `dbkit init` in an empty directory",
        )
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory}: exists and is not a directory")

    written: list[Path] = []
    for rel in PROJECT_DIRS:
        (directory / rel).mkdir(parents=True, exist_ok=True)
        keep = directory / rel / ".gitkeep"  # so an empty project survives a git clone
        keep.touch()
        written.append(keep)
    for rel, template in PROJECT_FILES.items():
        target = directory / rel
        data = template.read_bytes()
        if rel == Path("dbkit.toml") and ids != "sequential":
            data = data.replace(b'# ids = "sequential"', f'ids = "{ids}"'.encode())
        target.write_bytes(data)
        written.append(target)
    gitignore = directory / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if GITIGNORE_LINE not in existing.splitlines():
        separator = "" if not existing or existing.endswith("\n") else "\n"
        header = "" if existing else "# dbkit's embedded database (data, logs)\n"
        gitignore.write_text(existing + separator + header + GITIGNORE_LINE + "\n", "utf-8")
        written.append(gitignore)
    return written


def slugify(name: str) -> str:
    """``"Add orders index"`` -> ``"add_orders_index"``; refuses what cannot be a file name."""
    stripped = name.strip()
    ascii_name = unicodedata.normalize("NFKD", stripped).encode("ascii", "ignore").decode()
    if not stripped or not _NAME_CHARS.match(ascii_name):
        raise UsageError(
            f"invalid migration name {name!r}",
            hint="use letters, digits, spaces, '-', '_' or '.', starting with a letter or digit",
        )
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not slug:
        raise UsageError(f"invalid migration name {name!r}: it has no letters or digits")
    if len(slug) > MAX_SLUG:
        raise UsageError(
            f"migration name {name!r} is too long ({len(slug)} characters as a file name)",
            hint=f"keep it under {MAX_SLUG}; the description goes in the revision's docstring",
        )
    return slug


def new_migration(
    project_dir: Path, name: str, phase: str, non_transactional: bool = False
) -> list[Path]:
    """Write the revision file, the SQL pair and the two validation files of a new migration.

    It is numbered after the current head and follows it (``down_revision``). ``phase`` must be
    the last phase of the plan or a new one, since a phase's migrations are consecutive.
    ``non_transactional`` marks it ``transactional = False`` (``CREATE INDEX CONCURRENTLY``).
    Returns the paths written.
    """
    project_dir = Path(project_dir)
    slug = slugify(name)
    if not _PHASE.match(phase or ""):
        raise UsageError(
            f"invalid phase {phase!r}",
            hint="a phase is a lowercase name like 'core' or 'crm' (letters, digits, '_')",
        )
    plan = load_plan(project_dir)
    phases = plan.phases
    if phase in phases and phase != phases[-1]:
        last = [m for m in plan if m.phase == phase][-1]
        raise UsageError(
            f"phase {phase!r} is closed: it ended at revision {last.revision} and phase "
            f"{phases[-1]!r} follows it",
            hint=f"a phase's migrations are consecutive; use phase {phases[-1]!r} or a new one",
        )
    revision = next_revision_id(plan, id_style(project_dir))
    file_name = f"{revision}_{slug}"
    description = name.strip()
    description = description[0].upper() + description[1:]
    if not description.endswith("."):
        description += "."

    mode = (
        "Non-transactional: each statement runs on its own, outside a transaction."
        if non_transactional
        else "Runs in one transaction."
    )
    values = {
        "name": file_name,
        "description": description,
        "revision": revision,
        "down_revision": "None" if plan.head is None else f'"{plan.head}"',
        "phase": phase,
        "mode": mode,
        "options": _options(non_transactional),
    }
    files = {
        project_dir / VERSIONS_DIR / f"{file_name}.py": _fill("revision.py.tmpl", values),
        project_dir / SQL_DIR / f"{file_name}.sql": _fill("up.sql.tmpl", values),
        project_dir / ROLLBACK_DIR / f"{file_name}.sql": _fill("down.sql.tmpl", values),
        project_dir / VALIDATION_DIR / f"{file_name}.pre.sql": _fill(
            "check.sql.tmpl",
            {**values, "when_title": "Pre", "when_text": "run before it is applied."},
        ),
        project_dir / VALIDATION_DIR / f"{file_name}.post.sql": _fill(
            "check.sql.tmpl",
            {**values, "when_title": "Post", "when_text": "run after it is applied."},
        ),
    }
    in_the_way = [path for path in files if path.exists()]
    if in_the_way:
        raise UsageError(f"{in_the_way[0]} already exists; nothing was written")
    written: list[Path] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        for path in written:  # all or nothing: no half-made migration is left behind
            path.unlink(missing_ok=True)
        where = exc.filename or path
        raise ProjectError(
            f"cannot write {where}: {exc.strerror or exc}; nothing was written",
            hint=f"check that you may write in {project_dir} (owner and permissions)",
        ) from None
    return list(files)


def next_revision_id(plan, style: str, *, taken: set[str] = frozenset(), now=None) -> str:
    """The id ``dbkit new`` (and ``dbkit rebase``) gives the next migration.

    ``sequential``: one more than the highest number in the plan (and in ``taken``), four
    digits at least. ``timestamp``: the current UTC time as ``YYYYMMDDHHMMSS``, moved one
    second on while it is not above every id already used (so ids keep increasing).
    """
    numbers = [int(m.revision) for m in plan if m.revision.isdigit()]
    numbers += [int(t) for t in taken if t.isdigit()]
    highest = max(numbers, default=0)
    if style == "timestamp":
        moment = now or datetime.now(UTC)
        stamp = int(moment.strftime("%Y%m%d%H%M%S"))
        if stamp <= highest and highest >= 10**13:
            moment = datetime.strptime(str(highest), "%Y%m%d%H%M%S") + timedelta(seconds=1)
            stamp = int(moment.strftime("%Y%m%d%H%M%S"))
        return str(stamp)
    return f"{highest + 1:04d}"


def _options(non_transactional: bool) -> str:
    lines = []
    if non_transactional:
        lines += [
            "# Runs statement by statement outside a transaction (CREATE INDEX CONCURRENTLY, ...).",
            "transactional = False",
        ]
    lines += [
        '# lock_timeout = "10s"  # overrides the project setting for this migration',
        '# statement_timeout = "5min"',
    ]
    return "".join(line + "\n" for line in lines)


def _fill(template: str, values: dict[str, str]) -> str:
    return Template((TEMPLATES / "migration" / template).read_text(encoding="utf-8")).substitute(
        values
    )
