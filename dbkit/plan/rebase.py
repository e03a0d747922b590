"""``dbkit rebase``: make a forked plan linear again by moving one branch on top of the other.

When two git branches each add migrations after the same revision, the merged plan has two
heads (and, with sequential ids, often a duplicate number): ``migrate`` refuses it. Rebasing
re-parents the first migration of the branch that moves onto the head of the branch that
stays, renumbers the moved migrations after it (sequential ids: the next numbers; timestamp
ids: kept when still increasing, else a fresh timestamp), rewrites their revision files
(``revision``, ``down_revision``, the name in comments) and renames their whole file set
(``migrations/versions/``, ``sql/``, ``rollbacks/`` with the level files, ``validations/``)
together.

Which branch moves is decided by the caller (:func:`dbkit.api.rebase`): migrations named by
the user, the ones a git ref does not hold, or the ones no named database has applied. A
migration applied anywhere must never move: its id and checksum are recorded there. This
module only reads and writes files; it never connects.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbkit.errors import PlanError, UsageError
from dbkit.plan.graph import (
    ROLLBACK_DIR,
    SQL_DIR,
    VALIDATION_DIR,
    VERSIONS_DIR,
    Migration,
    Plan,
    load_plan,
    load_readable_plan,
)


@dataclass
class Move:
    """One migration that moves: its old and new name, id and parent."""

    old_name: str
    new_name: str
    old_revision: str
    new_revision: str
    old_parent: str | None
    new_parent: str | None
    files: list[tuple[str, str]] = field(default_factory=list)  # (old path, new path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_name": self.old_name,
            "new_name": self.new_name,
            "old_revision": self.old_revision,
            "new_revision": self.new_revision,
            "old_parent": self.old_parent,
            "new_parent": self.new_parent,
            "files": [{"from": a, "to": b} for a, b in self.files],
        }


@dataclass
class Branches:
    """The two sides of a forked plan: the fork revision and each branch's migrations."""

    fork: str
    sides: list[list[Migration]]  # each in chain order, first follows ``fork``


def branches(plan: Plan) -> Branches:
    """The plan's two branches; refuses a plan that does not fork exactly once in two."""
    kids: dict[str | None, list[Migration]] = {}
    for migration in plan.migrations:
        kids.setdefault(migration.down_revision, []).append(migration)
    counts: dict[str, int] = {}
    for migration in plan.migrations:
        counts[migration.revision] = counts.get(migration.revision, 0) + 1
    forks = [parent for parent, children in kids.items() if len(children) > 1]
    ambiguous = [m for m in plan.migrations if m.down_revision and counts[m.down_revision] > 1]
    if len(forks) != 1 or len(kids[forks[0]]) != 2:
        raise UsageError(
            "dbkit rebase handles a plan that forks once into two branches; this one forks at "
            f"{', '.join(str(f) for f in forks) or 'no revision'}",
            hint="rebase one pair of branches at a time, or name the migrations with --move",
        )
    if ambiguous:
        raise UsageError(
            f"{ambiguous[0].name} follows revision {ambiguous[0].down_revision}, which several "
            "files use, so its branch is unknown",
            hint="name every migration of the branch that moves with --move",
        )
    sides = []
    for first in sorted(kids[forks[0]], key=lambda m: m.name):
        side = [first]
        while len(kids.get(side[-1].revision, [])) == 1:
            side.append(kids[side[-1].revision][0])
        if kids.get(side[-1].revision):
            raise UsageError(f"the branch starting at {first.name} forks again at {side[-1].name}")
        sides.append(side)
    return Branches(str(forks[0]), sides)


def plan_moves(
    project_dir: Path, moving: list[Migration], style: str
) -> tuple[list[Move], list[Migration]]:
    """The moves that put ``moving`` (in chain order) on top of the rest of the plan.

    Returns the moves and the staying chain; refuses when what stays does not form one chain.
    """
    from dbkit.plan.scaffold import next_revision_id

    plan, _ = load_readable_plan(project_dir)
    moving_names = {m.name for m in moving}
    staying = [m for m in plan.migrations if m.name not in moving_names]
    stay_plan = Plan(plan.project_dir, tuple(staying), forked=True)
    heads = stay_plan.heads
    if len(heads) != 1:
        raise UsageError(
            f"without the migrations that move, the plan still has heads {', '.join(heads)}",
            hint="move every migration of one branch (--move names them all)",
        )
    parent = heads[0]
    taken = {m.revision for m in staying}
    moves: list[Move] = []
    for migration in moving:
        if style == "timestamp" and _increasing(migration.revision, parent, taken):
            new_revision = migration.revision
        else:
            new_revision = next_revision_id(stay_plan, style, taken=taken)
        taken.add(new_revision)
        slug = migration.name.split("_", 1)[1]
        move = Move(
            migration.name,
            f"{new_revision}_{slug}",
            migration.revision,
            new_revision,
            migration.down_revision,
            parent,
        )
        move.files = [
            (_rel(project_dir, path), _rel(project_dir, path.with_name(move.new_name + suffix)))
            for path, suffix in _file_set(project_dir, migration.name)
        ]
        moves.append(move)
        parent = new_revision
    return moves, staying


def _increasing(revision: str, parent: str, taken: set[str]) -> bool:
    return (
        revision not in taken
        and revision.isdigit()
        and parent.isdigit()
        and int(revision) > int(parent)
        and all(not t.isdigit() or int(t) < int(revision) for t in taken)
    )


def _rel(project: Path, path: Path) -> str:
    return str(path.relative_to(project))


def _file_set(project: Path, name: str) -> list[tuple[Path, str]]:
    """Every file of migration ``name``: (path, the suffix after the name)."""
    found = [(project / VERSIONS_DIR / f"{name}.py", ".py")]
    for directory in (SQL_DIR, ROLLBACK_DIR, VALIDATION_DIR):
        for path in sorted((project / directory).glob(f"{name}.*")):
            found.append((path, path.name[len(name) :]))
    return [(p, s) for p, s in found if p.is_file()]


def apply_moves(project_dir: Path, moves: list[Move]) -> None:
    """Rewrite and rename the files of ``moves``; the plan must then load as one chain.

    All texts are computed first; a plan that would not load afterwards (a phase split in
    two, say) is put back as it was and refused.
    """
    writes: dict[Path, str] = {}
    originals: dict[Path, str] = {}
    for move in moves:
        for old, new in move.files:
            source = project_dir / old
            text = source.read_text(encoding="utf-8")
            originals[source] = text
            if old.endswith(".py") and old.startswith(str(VERSIONS_DIR)):
                text = _rewrite_revision(text, source, move.new_revision, move.new_parent)
            writes[project_dir / new] = text.replace(move.old_name, move.new_name)
    in_the_way = [p for p in writes if p.exists() and p not in originals]
    if in_the_way:
        raise UsageError(f"{_rel(project_dir, in_the_way[0])} already exists; nothing was changed")
    for path in originals:
        path.unlink()
    for path, text in writes.items():
        path.write_text(text, encoding="utf-8")
    try:
        load_plan(project_dir)
    except PlanError as exc:
        for path in writes:
            path.unlink(missing_ok=True)
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
        raise PlanError(
            f"rebase would leave a broken plan, so nothing was changed: {exc.message}",
            hint=exc.hint,
        ) from None


def _rewrite_revision(text: str, path: Path, revision: str, parent: str | None) -> str:
    """``text`` with its ``revision = ...`` and ``down_revision = ...`` values replaced."""
    tree = ast.parse(text, filename=str(path))
    spans: list[tuple[int, int, int, int, str]] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                value = revision if target.id == "revision" else parent
                spans.append(
                    (
                        node.value.lineno,
                        node.value.col_offset,
                        node.value.end_lineno or node.value.lineno,
                        node.value.end_col_offset or 0,
                        "None" if value is None else f'"{value}"',
                    )
                )
    lines = text.splitlines(keepends=True)
    for start_line, start_col, end_line, end_col, replacement in sorted(spans, reverse=True):
        head = lines[start_line - 1].encode()[:start_col].decode()
        tail = lines[end_line - 1].encode()[end_col:].decode()
        lines[start_line - 1 : end_line] = [head + replacement + tail]
    return "".join(lines)
