"""What every importer shares: the scanned source migration, slugs, SQL clean-up.

An importer reads one tool's migration directory (never a database) into a :class:`SourceScan`:
the migrations in exactly the order that tool applies them, each with its forward SQL, its
down SQL if it has one, whether it runs in a transaction, and the version the tool records in
its history table (what ``dbkit adopt`` matches against). Files the tool itself would ignore
are listed in ``ignored``; files the tool would run but dbkit cannot convert in ``skipped``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from dbkit.errors import UsageError

MAX_SLUG = 50


class ImportSourceError(UsageError):
    """The source directory cannot be imported as the format asked for (exit 2)."""


@dataclass
class SourceMigration:
    """One migration of the source tool, as that tool would run it."""

    version: str  # as the tool records it in its history table (the adopt key)
    name: str  # the tool's own name for it (description, change name)
    files: list[str]  # source files it came from, relative to the source directory
    up: str
    down: str | None  # None: the tool has no down for it
    transactional: bool = True
    verify: str | None = None  # Sqitch verify script (becomes post-checks where it can)
    notes: list[str] = field(default_factory=list)


@dataclass
class SourceScan:
    tool: str
    source_dir: Path
    migrations: list[SourceMigration] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (file, why the tool ignores it)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why dbkit cannot)


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ImportSourceError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def slug_of(name: str) -> str:
    """A valid dbkit slug (``[a-z0-9_]+``, at most 50 characters) for any source name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    slug = slug[:MAX_SLUG].rstrip("_")
    return slug or "migration"


# -- one file, two sections -----------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One section of a one-file migration: from its marker line to the next marker."""

    which: str  # "up" or "down"
    options: str  # the rest of the marker line (dbmate's ``transaction:false``)
    body: str  # the SQL, ending in one newline; "" when it holds nothing but blank lines
    line: int  # 1-based line of the marker


def split_sections(
    path: Path, text: str, marker: re.Pattern[str], *, tool: str, up: str, down: str
) -> dict[str, Section]:
    """The ``up`` (and ``down``, if any) sections of a migration file that holds both, as
    dbmate (``-- migrate:up`` / ``-- migrate:down``) and goose (``-- +goose Up`` /
    ``-- +goose Down``) write them.

    ``marker`` matches a whole marker line (``re.M``), with a group ``which`` (up or down, in
    any case) and optionally ``options``; ``up`` and ``down`` are the markers as the tool
    spells them, for messages. A section runs from its marker to the next one; text before
    the first marker belongs to neither. What both tools refuse is refused here, with the file
    and line named: no up section, two of either, a down before the up.
    """
    found = list(marker.finditer(text))
    sections: dict[str, Section] = {}
    for index, match in enumerate(found):
        which = match["which"].lower()
        spelled = up if which == "up" else down
        line = text.count("\n", 0, match.start()) + 1
        if which in sections:
            raise ImportSourceError(
                f"{path}:{line}: a second `{spelled}` line (the first is on line "
                f"{sections[which].line}); {tool} allows one"
            )
        if which == "up" and "down" in sections:
            raise ImportSourceError(
                f"{path}:{line}: `{up}` after `{down}` (line {sections['down'].line}); "
                f"{tool} needs the up section first"
            )
        stop = found[index + 1].start() if index + 1 < len(found) else len(text)
        body = text[match.end() : stop].strip("\n")
        options = match.groupdict().get("options") or ""
        sections[which] = Section(which, options, body + "\n" if body.strip() else "", line)
    if "up" not in sections:
        raise ImportSourceError(
            f"{path}: no `{up}` annotation ({tool} needs exactly one `{up}` line)"
        )
    return sections


# -- SQL clean-up ---------------------------------------------------------------------------

_TX_START = re.compile(r"^\s*(BEGIN|START\s+TRANSACTION)\s*(WORK|TRANSACTION)?\s*;?\s*$", re.I)
_TX_END = re.compile(r"^\s*(COMMIT|END)\s*(WORK|TRANSACTION)?\s*;?\s*$", re.I)
_TX_ROLLBACK = re.compile(r"^\s*ROLLBACK\s*(WORK|TRANSACTION)?\s*;?\s*$", re.I)

# Statements PostgreSQL refuses to run inside a transaction block.
_NON_TRANSACTIONAL = re.compile(
    r"^\s*(CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY|DROP\s+INDEX\s+CONCURRENTLY|"
    r"REINDEX\b[^;]*\bCONCURRENTLY|VACUUM\b|CREATE\s+DATABASE\b|DROP\s+DATABASE\b|"
    r"ALTER\s+SYSTEM\b|CREATE\s+TABLESPACE\b|DROP\s+TABLESPACE\b|"
    r"ALTER\s+TABLE\b[^;]*\bDETACH\s+PARTITION\b[^;]*\bCONCURRENTLY)",
    re.I,
)


def _code(text: str) -> str:
    """A statement without its leading comment lines."""
    lines = text.strip().splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines)


def needs_no_transaction(sql: str) -> bool:
    """True when a statement of ``sql`` cannot run inside a transaction block."""
    from dbkit.plan import sqltext

    return any(_NON_TRANSACTIONAL.match(_code(s.text)) for s in sqltext.split(sql))


def strip_transaction(sql: str, *, rollback_end: bool = False) -> tuple[str, bool]:
    """Remove a ``BEGIN; ... COMMIT;`` wrapper (dbkit runs the transaction itself).

    Returns the SQL and whether a wrapper was found. ``rollback_end`` also accepts a final
    ``ROLLBACK`` (Sqitch verify scripts). Transaction control anywhere else is left in place
    (``dbkit lint`` reports it).
    """
    from dbkit.plan import sqltext

    statements = sqltext.split(sql)
    if len(statements) < 2:
        return sql, False
    first, last = statements[0], statements[-1]
    end = _TX_END.match(_code(last.text)) or (rollback_end and _TX_ROLLBACK.match(_code(last.text)))
    if not (_TX_START.match(_code(first.text)) and end):
        return sql, False
    pieces = []
    for statement in (first, last):
        # the statement's own code starts after its leading comments
        code = _code(statement.text)
        start = sql.index(code, statement.offset)
        stop = start + len(code)
        semicolon = re.match(r"\s*;", sql[stop:])
        if semicolon:
            stop += semicolon.end()
        pieces.append((start, stop))
    (s1, e1), (s2, e2) = pieces
    text = sql[:s1] + sql[e1:s2] + sql[e2:]
    return _tidy(text), True


def _tidy(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n" if text else ""


def has_statements(sql: str) -> bool:
    from dbkit.plan import sqltext

    return bool(sqltext.split(sql))


def natural_key(version: str) -> tuple[int, ...]:
    """``"1.10.2"`` -> ``(1, 10, 2)`` with trailing zeros dropped (Flyway: 1.0 == 1)."""
    parts = [int(p) for p in re.split(r"[._]", version)]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)
