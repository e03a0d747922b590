"""goose (SQL migrations): ``{version}_{name}.sql`` with ``-- +goose Up`` / ``-- +goose Down``.

goose orders by the integer version before the first ``_`` (timestamps and sequential numbers
both). ``-- +goose StatementBegin`` / ``StatementEnd`` only guide goose's own statement
splitter; dbkit uses PostgreSQL's parser, so they are kept as plain comments.
``-- +goose NO TRANSACTION`` makes the migration non-transactional. Go migrations (``.go``)
cannot be imported and are listed. The history table is ``goose_db_version``.
"""

from __future__ import annotations

import re
from pathlib import Path

from dbkit.plan.importers.base import (
    ImportSourceError,
    SourceMigration,
    SourceScan,
    read,
)

FORMAT = "goose"
_FILE = re.compile(r"^(?P<version>\d+)_(?P<name>.+)\.(?P<ext>sql|go)$")
_ANNOTATION = re.compile(r"^--\s*\+goose\s+(?P<what>.+?)\s*$", re.M)


def scan(source_dir: Path) -> SourceScan:
    result = SourceScan(FORMAT, source_dir)
    found: dict[int, Path] = {}
    for path in sorted(p for p in source_dir.iterdir() if p.is_file() and p.name[0] != "."):
        match = _FILE.match(path.name)
        if not match:
            result.ignored.append((path.name, "not named VERSION_name.sql"))
            continue
        version = int(match["version"])
        if version in found:
            raise ImportSourceError(
                f"{source_dir}: version {version} is used by {found[version].name} and "
                f"{path.name} (goose refuses duplicate versions too)"
            )
        found[version] = path
    for version in sorted(found):
        path = found[version]
        if path.suffix == ".go":
            result.skipped.append((path.name, "a Go migration: only SQL migrations import"))
            continue
        name = _FILE.match(path.name)["name"]
        result.migrations.append(_parse(path, str(version), name))
    return result


def _parse(path: Path, version: str, name: str) -> SourceMigration:
    text = read(path)
    sections: dict[str, list[str]] = {}
    current: str | None = None
    transactional = True
    notes: list[str] = []
    for line in text.splitlines(keepends=True):
        match = _ANNOTATION.match(line.rstrip("\n"))
        if match:
            what = match["what"].upper()
            if what in ("UP", "DOWN"):
                current = what.lower()
                sections.setdefault(current, [])
                continue
            if what == "NO TRANSACTION":
                transactional = False
                continue
            if what.startswith("ENVSUB"):
                notes.append(f"`-- +goose {match['what']}` ignored: no variable substitution")
                continue
            # StatementBegin / StatementEnd: kept as comments
        if current is not None:
            sections[current].append(line)
    if "up" not in sections:
        raise ImportSourceError(f"{path}: no `-- +goose Up` annotation")
    up = "".join(sections["up"]).strip("\n") + "\n"
    down = "".join(sections.get("down", [])).strip("\n")
    return SourceMigration(
        version=version,
        name=name,
        files=[path.name],
        up=up,
        down=down + "\n" if down.strip() else None,
        transactional=transactional,
        notes=notes,
    )
