"""golang-migrate: ``{version}_{title}.up.sql`` and ``{version}_{title}.down.sql``.

The version is an unsigned integer and migrate orders by its value (``2_x`` before ``10_x``,
``0001_x`` equal to ``1_x``: two files with one version are an error, as in migrate). Each file
runs as one multi-statement ``Exec``, so in one implicit transaction unless it holds a statement
PostgreSQL refuses inside one (``CREATE INDEX CONCURRENTLY``), which then runs on its own. A
``BEGIN; ... COMMIT;`` wrapper is removed (dbkit runs the transaction). The history table is
``schema_migrations (version bigint, dirty boolean)``: one row, the current version.
"""

from __future__ import annotations

import re
from pathlib import Path

from dbkit.plan.importers.base import (
    ImportSourceError,
    SourceMigration,
    SourceScan,
    needs_no_transaction,
    read,
    strip_transaction,
)

FORMAT = "golang-migrate"
_FILE = re.compile(r"^(?P<version>[0-9]+)_(?P<title>.*)\.(?P<direction>up|down)\.(?P<ext>.+)$")


def scan(source_dir: Path) -> SourceScan:
    result = SourceScan(FORMAT, source_dir)
    found: dict[int, dict[str, Path]] = {}
    titles: dict[int, str] = {}
    for path in sorted(p for p in source_dir.iterdir() if p.is_file() and p.name[0] != "."):
        match = _FILE.match(path.name)
        if not match:
            result.ignored.append((path.name, "not named VERSION_TITLE.up.sql / .down.sql"))
            continue
        if match["ext"] != "sql":
            result.skipped.append((path.name, f"a .{match['ext']} migration, not SQL"))
            continue
        version = int(match["version"])
        slot = found.setdefault(version, {})
        if match["direction"] in slot:
            raise ImportSourceError(
                f"{source_dir}: two {match['direction']} files for version {version}: "
                f"{slot[match['direction']].name} and {path.name} (migrate refuses this too)"
            )
        if version in titles and titles[version] != match["title"]:
            raise ImportSourceError(
                f"{source_dir}: version {version} has files with different titles: "
                f"{titles[version]!r} and {match['title']!r}"
            )
        titles[version] = match["title"]
        slot[match["direction"]] = path
    for version in sorted(found):
        files = found[version]
        if "up" not in files:
            result.skipped.append((files["down"].name, "a down file without its up file"))
            continue
        up, wrapped = strip_transaction(read(files["up"]))
        migration = SourceMigration(
            version=str(version),
            name=titles[version],
            files=[files["up"].name] + ([files["down"].name] if "down" in files else []),
            up=up,
            down=strip_transaction(read(files["down"]))[0] if "down" in files else None,
            transactional=not needs_no_transaction(up),
        )
        if wrapped:
            migration.notes.append("BEGIN/COMMIT wrapper removed (dbkit runs the transaction)")
        result.migrations.append(migration)
    return result
