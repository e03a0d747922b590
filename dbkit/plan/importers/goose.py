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
    split_sections,
)

FORMAT = "goose"
_FILE = re.compile(r"^(?P<version>\d+)_(?P<name>.+)\.(?P<ext>sql|go)$")
_ANNOTATION = re.compile(r"^--\s*\+goose\s+(?P<what>.+?)\s*$", re.M)
_SECTION = re.compile(r"^--\s*\+goose\s+(?P<which>up|down)\s*$", re.M | re.I)


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
    transactional = True
    notes: list[str] = []
    kept: list[str] = []
    for line in read(path).splitlines(keepends=True):
        match = _ANNOTATION.match(line.rstrip("\n"))
        what = match["what"].upper() if match else ""
        if what == "NO TRANSACTION":
            transactional = False
        elif what.startswith("ENVSUB"):
            notes.append(f"`-- +goose {match['what']}` ignored: no variable substitution")
        else:  # Up/Down are split below; StatementBegin / StatementEnd stay as comments
            kept.append(line)
            continue
        kept.append("\n")  # the annotation goes; its line stays, so line numbers hold
    sections = split_sections(
        path, "".join(kept), _SECTION, tool=FORMAT, up="-- +goose Up", down="-- +goose Down"
    )
    down = sections["down"].body if "down" in sections else ""
    return SourceMigration(
        version=version,
        name=name,
        files=[path.name],
        up=sections["up"].body,
        down=down or None,
        transactional=transactional,
        notes=notes,
    )
