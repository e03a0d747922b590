"""Flyway: ``V<version>__<description>.sql``, undo ``U<version>__<description>.sql``.

Versions are dotted or underscored numbers compared part by part as integers (``1.10`` after
``1.9``; ``1.0`` equals ``1``); the description's underscores read as spaces. Flyway runs a
script in a transaction unless it holds a statement PostgreSQL refuses there (it detects
``CREATE INDEX CONCURRENTLY`` and friends) or its ``<script>.conf`` says
``executeInTransaction=false``. Repeatable migrations (``R__name.sql``) re-run whenever they
change: there is no version to import them at, so they are listed as not imported. The history
table is ``flyway_schema_history``.
"""

from __future__ import annotations

import re
from pathlib import Path

from dbkit.plan.importers.base import (
    ImportSourceError,
    SourceMigration,
    SourceScan,
    natural_key,
    needs_no_transaction,
    read,
)

FORMAT = "flyway"
_FILE = re.compile(r"^(?P<prefix>[VU])(?P<version>\d+(?:[._]\d+)*)__(?P<description>.+)\.sql$")
_REPEATABLE = re.compile(r"^R__.+\.sql$")
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z0-9_.:]+\}")


def version_text(version: str) -> str:
    """The version as Flyway records it (underscores become dots)."""
    return version.replace("_", ".")


def scan(source_dir: Path) -> SourceScan:
    result = SourceScan(FORMAT, source_dir)
    versioned: dict[tuple[int, ...], Path] = {}
    undo: dict[tuple[int, ...], Path] = {}
    files = sorted(
        p for p in source_dir.rglob("*") if p.is_file() and p.name[0] != "."
    )  # Flyway scans subfolders
    for path in files:
        rel = str(path.relative_to(source_dir))
        if path.name.endswith(".sql.conf"):
            continue  # read with its script
        if _REPEATABLE.match(path.name):
            result.skipped.append(
                (
                    rel,
                    "repeatable migration: it has no version; turn it into a versioned "
                    "migration with `dbkit new` if its objects must be in the plan",
                )
            )
            continue
        match = _FILE.match(path.name)
        if not match:
            result.ignored.append((rel, "not named V<version>__<description>.sql"))
            continue
        key = natural_key(match["version"])
        target = versioned if match["prefix"] == "V" else undo
        if key in target:
            raise ImportSourceError(
                f"{source_dir}: found more than one migration with version "
                f"{version_text(match['version'])}: {target[key].name} and {path.name}"
            )
        target[key] = path
    for key, path in undo.items():
        if key not in versioned:
            result.skipped.append(
                (str(path.relative_to(source_dir)), "an undo script for no versioned one")
            )
    for key in sorted(versioned):
        path = versioned[key]
        match = _FILE.match(path.name)
        up = read(path)
        undo_path = undo.get(key)
        transactional = not needs_no_transaction(up)
        notes = []
        conf = path.with_name(path.name + ".conf")
        if conf.is_file() and re.search(
            r"^\s*executeInTransaction\s*=\s*false\s*$", read(conf), re.M | re.I
        ):
            transactional = False
        if _PLACEHOLDER.search(up):
            notes.append("holds ${...} placeholders, which dbkit does not replace")
        result.migrations.append(
            SourceMigration(
                version=version_text(match["version"]),
                name=match["description"].replace("_", " "),
                files=[str(p.relative_to(source_dir)) for p in (path, undo_path) if p],
                up=up,
                down=read(undo_path) if undo_path else None,
                transactional=transactional,
                notes=notes,
            )
        )
    return result
