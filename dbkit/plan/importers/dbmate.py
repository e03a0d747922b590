"""dbmate: ``{version}_{name}.sql`` holding ``-- migrate:up`` and ``-- migrate:down`` sections.

dbmate takes the version from the leading digits of the file name and applies files in file
name order. A section line may carry ``transaction:false``: that part then runs outside a
transaction. The history table is ``schema_migrations (version varchar)``, one row per applied
migration.
"""

from __future__ import annotations

import re
from pathlib import Path

from dbkit.plan.importers.base import (
    ImportSourceError,
    Section,
    SourceMigration,
    SourceScan,
    read,
    split_sections,
    strip_transaction,
)

FORMAT = "dbmate"
_FILE = re.compile(r"^(?P<version>\d+)_?(?P<name>.*)\.sql$")
_SECTION = re.compile(r"^--\s*migrate:(?P<which>up|down)(?P<options>[^\n]*)$", re.M)


def scan(source_dir: Path) -> SourceScan:
    result = SourceScan(FORMAT, source_dir)
    seen: dict[str, str] = {}
    for path in sorted(p for p in source_dir.iterdir() if p.is_file() and p.name[0] != "."):
        match = _FILE.match(path.name)
        if not match:
            result.ignored.append((path.name, "not named VERSION_name.sql"))
            continue
        version = match["version"]
        if version in seen:
            raise ImportSourceError(
                f"{source_dir}: version {version} is used by {seen[version]} and {path.name}"
            )
        seen[version] = path.name
        sections = split_sections(
            path, read(path), _SECTION, tool=FORMAT, up="-- migrate:up", down="-- migrate:down"
        )
        up, transactional = sections["up"].body, _transactional(sections["up"])
        down = sections["down"].body if "down" in sections else ""
        migration = SourceMigration(
            version=version,
            name=match["name"] or version,
            files=[path.name],
            up=strip_transaction(up)[0],
            down=strip_transaction(down)[0] if down.strip() else None,
            transactional=transactional,
        )
        if "down" in sections and not _transactional(sections["down"]) and transactional:
            migration.notes.append(
                "the down section is transaction:false but the up is not; dbkit runs both "
                "the same way (in a transaction)"
            )
        result.migrations.append(migration)
    return result


def _transactional(section: Section) -> bool:
    """A section runs in a transaction unless its marker line says ``transaction:false``."""
    return not re.search(r"\btransaction:\s*false\b", section.options)
