"""Diesel: one directory per migration, ``<version>_<name>/up.sql`` and ``down.sql``.

The version is the directory name up to the first ``_`` with every ``-`` removed, and Diesel
orders by that (so ``2023-01-05-101500_x`` sorts with ``20230105101500_x``, which a plain name
sort gets wrong). ``metadata.toml`` with ``run_in_transaction = false`` makes the migration
non-transactional. The history table is ``__diesel_schema_migrations (version, run_on)``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from dbkit.plan.importers.base import (
    ImportSourceError,
    SourceMigration,
    SourceScan,
    read,
)

FORMAT = "diesel"
_DIR = re.compile(r"^(?P<version>[0-9-]+)_(?P<name>.+)$")


def scan(source_dir: Path) -> SourceScan:
    result = SourceScan(FORMAT, source_dir)
    found: dict[str, Path] = {}
    for path in sorted(p for p in source_dir.iterdir() if p.name[0] != "."):
        if path.is_file():
            result.ignored.append((path.name, "a file, not a migration directory"))
            continue
        match = _DIR.match(path.name)
        if not match or not (path / "up.sql").is_file():
            result.ignored.append((path.name + "/", "not a VERSION_name/ directory with up.sql"))
            continue
        version = match["version"].replace("-", "")
        if version in found:
            raise ImportSourceError(
                f"{source_dir}: {found[version].name} and {path.name} have the same version "
                f"{version}"
            )
        found[version] = path
    for version in sorted(found):
        path = found[version]
        metadata = path / "metadata.toml"
        transactional = True
        if metadata.is_file():
            try:
                data = tomllib.loads(read(metadata))
            except tomllib.TOMLDecodeError as exc:
                raise ImportSourceError(f"{metadata}: not valid TOML: {exc}") from None
            transactional = bool(data.get("run_in_transaction", True))
        down = path / "down.sql"
        files = [f"{path.name}/up.sql"] + ([f"{path.name}/down.sql"] if down.is_file() else [])
        result.migrations.append(
            SourceMigration(
                version=version,
                name=_DIR.match(path.name)["name"],
                files=files,
                up=read(path / "up.sql"),
                down=read(down) if down.is_file() else None,
                transactional=transactional,
            )
        )
    return result
