"""``dbkit import``: turn another tool's migration directory into a dbkit project.

One module per format (:mod:`.golang_migrate`, :mod:`.dbmate`, :mod:`.goose`, :mod:`.flyway`,
:mod:`.diesel`, :mod:`.sqitch`), each with ``scan(source_dir) -> SourceScan`` that applies that
tool's own ordering rule; :func:`import_project` writes the scanned migrations as revisions
``0001``, ``0002``... in that order. Each revision file keeps where it came from::

    imported_from = "flyway"
    source_version = "1.10"      # what the tool records in its history table
    source_name = "add orders"   # the tool's own name, also in the docstring

``dbkit adopt`` matches a live database's history against ``source_version`` (see
:func:`source_versions`). The plan layer never connects: this reads and writes files only.
"""

from __future__ import annotations

import ast
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbkit.errors import UsageError
from dbkit.plan.graph import ROLLBACK_DIR, SQL_DIR, VALIDATION_DIR, VERSIONS_DIR
from dbkit.plan.importers.base import (
    ImportSourceError,
    SourceMigration,
    SourceScan,
    has_statements,
    slug_of,
)

#: format name -> module under dbkit.plan.importers
FORMATS = {
    "golang-migrate": "golang_migrate",
    "dbmate": "dbmate",
    "goose": "goose",
    "flyway": "flyway",
    "diesel": "diesel",
    "sqitch": "sqitch",
}

#: marker on the first line of a rollback written for a migration the source had no down for
IRREVERSIBLE_MARKER = "-- dbkit: irreversible:"

_REVISION = '''"""{description}

Imported from {tool}: {original!r} (version {version}), from {files}.
"""

from dbkit.revision import sql_pair

revision = "{revision}"
down_revision = {down_revision}
phase = "{phase}"
imported_from = "{tool}"
source_version = {version_literal}
source_name = {original_literal}
{options}upgrade, downgrade = sql_pair(__file__)
'''


@dataclass
class ImportedMigration:
    revision: str
    file_name: str
    source_version: str
    source_name: str
    source_files: list[str]
    transactional: bool
    has_rollback: bool
    post_checks: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ImportResult:
    tool: str
    source_dir: str
    project_dir: str
    migrations: list[ImportedMigration]
    ignored: list[tuple[str, str]]
    skipped: list[tuple[str, str]]
    kept: list[str]  # project files that existed and were left as they are
    written: list[str]

    @property
    def without_rollback(self) -> list[ImportedMigration]:
        return [m for m in self.migrations if not m.has_rollback]

    @property
    def message(self) -> str:
        parts = [f"imported {len(self.migrations)} {self.tool} migrations into {self.project_dir}"]
        if self.without_rollback:
            parts.append(
                f"{len(self.without_rollback)} without a down file got a rollback that refuses "
                "to run (`dbkit lint` lists them: dbkit/irreversible)"
            )
        if self.skipped:
            parts.append(f"{len(self.skipped)} file(s) not importable")
        if self.ignored:
            parts.append(f"{len(self.ignored)} file(s) ignored, as {self.tool} ignores them")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "source_dir": self.source_dir,
            "project_dir": self.project_dir,
            "message": self.message,
            "migrations": [m.to_dict() for m in self.migrations],
            "not_importable": [{"file": f, "reason": r} for f, r in self.skipped],
            "ignored": [{"file": f, "reason": r} for f, r in self.ignored],
            "kept": self.kept,
            "written": self.written,
        }


def scan_source(tool: str, source_dir: Path | str) -> SourceScan:
    """Read a source directory in ``tool``'s format; refuse an unknown format or empty source."""
    if tool not in FORMATS:
        raise UsageError(
            f"unknown import format {tool!r}", hint=f"choose from {', '.join(FORMATS)}"
        )
    source = Path(source_dir)
    if not source.is_dir():
        raise ImportSourceError(f"{source}: not a directory")
    module = importlib.import_module(f"dbkit.plan.importers.{FORMATS[tool]}")
    scan: SourceScan = module.scan(source)
    if not scan.migrations:
        seen = [f for f, _ in scan.ignored] + [f for f, _ in scan.skipped]
        raise ImportSourceError(
            f"{source}: no {tool} migrations found"
            + (
                f" (found only {', '.join(seen[:3])}{', ...' if len(seen) > 3 else ''})"
                if seen
                else " (the directory is empty)"
            ),
            hint=_guess_hint(source, tool),
        )
    _refuse_mixed(scan)
    return scan


def _refuse_mixed(scan: SourceScan) -> None:
    """A directory that also holds another tool's migration files is refused, not half-read."""
    others = []
    for tool in _PATTERNS:
        if scan.tool in tool:
            continue
        if _looks_like(tool, [f for f, _ in scan.ignored]):
            others.append(tool)
    if others:
        names = [f for f, _ in scan.ignored][:3]
        raise ImportSourceError(
            f"{scan.source_dir}: mixed source directory: besides {scan.tool} migrations it holds "
            f"files named like {' or '.join(others)} migrations ({', '.join(names)})",
            hint="import one tool's directory at a time; move the other files out",
        )


# File names only one kind of tool uses (dbmate and goose share theirs).
_PATTERNS = {
    "golang-migrate": r"^\d+_.+\.(up|down)\.sql$",
    "flyway": r"^[VU]\d+(?:[._]\d+)*__.+\.sql$",
    "dbmate or goose": r"^\d+_.+(?<!\.up)(?<!\.down)\.sql$",
}


def _looks_like(tool: str, names: list[str]) -> bool:
    import re

    return any(re.match(_PATTERNS[tool], n.rsplit("/", 1)[-1]) for n in names)


def _guess_hint(source: Path, tool: str) -> str:
    return (
        f"is this the {tool} migrations directory? Formats: {', '.join(FORMATS)} "
        "(docs/import.md describes what each expects)"
    )


def import_project(
    tool: str,
    source_dir: Path | str,
    project_dir: Path | str,
    *,
    phase: str = "imported",
) -> ImportResult:
    """Scan ``source_dir`` as ``tool`` and write it as a dbkit project in ``project_dir``.

    ``project_dir`` may be new, an empty dbkit project, or a directory holding another
    project's files (an ``alembic.ini``, a ``migrations/env.py``): those are kept, never
    overwritten. A project that already has revisions is refused. Nothing is written unless
    the whole source converts.
    """
    from dbkit.plan import scaffold

    if not scaffold._PHASE.match(phase or ""):
        raise UsageError(f"invalid phase {phase!r}", hint="a lowercase name like 'imported'")
    scan = scan_source(tool, source_dir)
    project = Path(project_dir)
    if project.exists() and not project.is_dir():
        raise UsageError(f"{project}: exists and is not a directory")
    versions = project / VERSIONS_DIR
    existing = sorted(p.name for p in versions.glob("*.py")) if versions.is_dir() else []
    existing = [n for n in existing if not n.startswith("_")]
    if existing:
        raise UsageError(
            f"{project}: already holds revisions ({existing[0]}, ...); import writes a new plan",
            hint="import into a new directory (--into DIR)",
        )

    files: dict[Path, str] = {}
    imported: list[ImportedMigration] = []
    previous: str | None = None
    width = max(4, len(str(len(scan.migrations))))
    for number, source in enumerate(scan.migrations, start=1):
        revision = f"{number:0{width}d}"
        record = _convert(scan, source, revision, previous, phase, files, project)
        imported.append(record)
        previous = revision

    kept: list[str] = []
    written: list[str] = []
    for rel, template in scaffold.PROJECT_FILES.items():
        if (project / rel).exists():
            kept.append(str(rel))
        else:
            files[project / rel] = template.read_text(encoding="utf-8")
    in_the_way = [p for p in files if p.exists()]
    if in_the_way:
        raise UsageError(f"{in_the_way[0]} already exists; nothing was written")
    for rel in scaffold.PROJECT_DIRS:
        (project / rel).mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(str(path.relative_to(project)))
    for rel in scaffold.PROJECT_DIRS:
        folder = project / rel
        if not any(folder.iterdir()):  # so an empty folder survives a git clone
            (folder / ".gitkeep").touch()
            written.append(str(rel / ".gitkeep"))
    gitignore = project / ".gitignore"
    current = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if scaffold.GITIGNORE_LINE not in current.splitlines():
        separator = "" if not current or current.endswith("\n") else "\n"
        gitignore.write_text(current + separator + scaffold.GITIGNORE_LINE + "\n", "utf-8")
    return ImportResult(
        tool=tool,
        source_dir=str(scan.source_dir),
        project_dir=str(project),
        migrations=imported,
        ignored=scan.ignored,
        skipped=scan.skipped,
        kept=kept,
        written=written,
    )


def _convert(
    scan: SourceScan,
    source: SourceMigration,
    revision: str,
    previous: str | None,
    phase: str,
    files: dict[Path, str],
    project: Path,
) -> ImportedMigration:
    slug = slug_of(source.name)
    notes = list(source.notes)
    if slug != source.name:
        notes.append(f"name {source.name!r} is not a valid slug: the files are named {slug}")
    file_name = f"{revision}_{slug}"
    origin = ", ".join(source.files)
    has_rollback = source.down is not None and (
        has_statements(source.down) or not has_statements(source.up)
    )
    if source.down is not None and not has_rollback:
        notes.append("its down file has no statement: treated as missing")
    options = ""
    if not source.transactional:
        options = (
            f"# Non-transactional in {scan.tool} too: runs statement by statement.\n"
            "transactional = False\n"
        )
    description = source.name[:1].upper() + source.name[1:]
    files[project / VERSIONS_DIR / f"{file_name}.py"] = _REVISION.format(
        description=description.replace('"""', "'''").rstrip(".") + ".",
        tool=scan.tool,
        original=source.name,
        version=source.version,
        version_literal=json.dumps(source.version),
        original_literal=json.dumps(source.name),
        files=origin,
        revision=revision,
        down_revision="None" if previous is None else f'"{previous}"',
        phase=phase,
        options=options,
    )
    up_file = source.files[0]
    down_file = next((f for f in source.files[1:] if not f.startswith("verify/")), up_file)
    files[project / SQL_DIR / f"{file_name}.sql"] = (
        f"-- Imported from {scan.tool}: {up_file}\n" + _ended(source.up)
    )
    if has_rollback:
        files[project / ROLLBACK_DIR / f"{file_name}.sql"] = (
            f"-- Imported from {scan.tool}: {down_file}\n" + _ended(source.down or "")
        )
    else:
        files[project / ROLLBACK_DIR / f"{file_name}.sql"] = refusing_rollback(
            scan.tool, source.name, origin
        )
    post_checks = 0
    if source.verify is not None:
        from dbkit.plan.importers.sqitch import verify_checks

        text, post_checks, note = verify_checks(source.verify, slug, origin)
        if note:
            notes.append(note)
        if text:
            files[project / VALIDATION_DIR / f"{file_name}.post.sql"] = text
    return ImportedMigration(
        revision=revision,
        file_name=file_name,
        source_version=source.version,
        source_name=source.name,
        source_files=list(source.files),
        transactional=source.transactional,
        has_rollback=has_rollback,
        post_checks=post_checks,
        notes=notes,
    )


def refusing_rollback(tool: str, name: str, origin: str) -> str:
    """The rollback of a migration its source tool had no down for: it refuses to run."""
    message = (
        f"no rollback: {tool} migration {name} ({origin}) had no down file; write this "
        "rollback before rolling back past it"
    ).replace("'", "''")
    return (
        f"{IRREVERSIBLE_MARKER} {tool} had no down file for {origin}\n"
        "-- Replace this file with the real rollback (`dbkit lint` reports it until then).\n"
        f"DO $$ BEGIN RAISE EXCEPTION '{message}'; END $$;\n"
    )


def _ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def source_versions(project_dir: Path | str) -> dict[str, tuple[str, str]]:
    """``revision -> (imported_from, source_version)`` of a project's imported revisions.

    Read with :mod:`ast` like the rest of the plan (revision files are never executed).
    """
    result: dict[str, tuple[str, str]] = {}
    for path in sorted((Path(project_dir) / VERSIONS_DIR).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        values: dict[str, object] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    try:
                        values[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        continue
        tool, version, revision = (
            values.get("imported_from"),
            values.get("source_version"),
            values.get("revision"),
        )
        if isinstance(tool, str) and isinstance(version, str) and isinstance(revision, str):
            result[revision] = (tool, version)
    return result


__all__ = [
    "FORMATS",
    "ImportResult",
    "ImportSourceError",
    "import_project",
    "scan_source",
    "source_versions",
]
