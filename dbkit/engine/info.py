"""``dbkit info``: every migration of the plan with its state, in order (Flyway's ``info``).

:func:`migration_states` joins the plan with the history rows (:mod:`dbkit.engine.registry`)
and the revision ``alembic_version`` records; it reads nothing itself. States:

* ``applied``: in the chain up to the current revision, its last run succeeded;
* ``baseline``: in that chain, recorded by ``dbkit baseline`` / ``dbkit adopt`` (SQL not run);
* ``left applied``: in that chain, but a check failed after it ran and it was left applied for
  inspection (``--no-auto-rollback``);
* ``failed``: not applied, and its last run failed (nothing of it stayed);
* ``pending``: not applied (never run, or rolled back);
* ``out of plan``: recorded in the database but absent from the files.

For applied migrations: when and by whom (the run that applied it), how long it took, and
whether its files still have the checksum recorded (``ok``, ``edited``, or ``unknown`` when no
history row holds one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbkit.engine.registry import DatabaseState, HistoryRow
    from dbkit.plan.graph import Migration, Plan

STATES = ("applied", "baseline", "left applied", "failed", "pending", "out of plan")


@dataclass
class MigrationState:
    revision: str
    name: str | None
    phase: str | None
    description: str
    state: str
    applied_at: datetime | None = None
    applied_by: str | None = None  # database role, and OS user@host when known
    duration_ms: float | None = None
    checksum: str | None = None  # ok | edited | unknown (applied ones only)
    message: str | None = None  # failure message, or what happened last
    source_version: str | None = None  # imported migrations: the source tool's version

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["applied_at"] = self.applied_at.isoformat() if self.applied_at else None
        return data


@dataclass
class InfoResult:
    database: str
    current_revision: str | None
    migrations: list[MigrationState] = field(default_factory=list)
    plan_problems: list[str] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for m in self.migrations if m.state == state)

    @property
    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in STATES if self.count(s)]
        edited = sum(1 for m in self.migrations if m.checksum == "edited")
        if edited:
            parts.append(f"{edited} edited since applied")
        return ", ".join(parts) or "no migrations"

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "current_revision": self.current_revision,
            "summary": {s: self.count(s) for s in STATES},
            "migrations": [m.to_dict() for m in self.migrations],
            "plan_problems": self.plan_problems,
        }


def _who(row: HistoryRow) -> str:
    who = row.applied_by
    if row.os_user or row.client_host:
        who += f" ({row.os_user or '?'}@{row.client_host or '?'})"
    return who


def migration_states(
    plan: Plan,
    state: DatabaseState,
    rows: list[HistoryRow],
    source_versions: dict[str, tuple[str, str]] | None = None,
) -> tuple[list[MigrationState], str | None]:
    """The states of the plan's migrations (plan order), then the out-of-plan ones.

    Returns the list and a note when the recorded revision is not in the plan.
    """
    from dbkit.errors import DbkitError

    by_revision: dict[str, list[HistoryRow]] = {}
    for row in rows:
        if row.level == "schema":
            by_revision.setdefault(row.revision, []).append(row)
    note = None
    try:
        chain = plan.ancestors(state.current, state.recorded_checksums.get(state.current or ""))
    except DbkitError:
        chain = []
        note = f"the database is at revision {state.current}, which is not in the plan"
    applied = {m.name for m in chain}
    sources = source_versions or {}
    result: list[MigrationState] = []
    for migration in plan.migrations:
        result.append(
            _state(
                migration, migration.name in applied, by_revision.get(migration.revision, []), state
            )
        )
        if migration.revision in sources:
            result[-1].source_version = sources[migration.revision][1]
    known = {m.revision for m in plan.migrations}
    stray = [r for r in by_revision if r not in known]
    if state.current is not None and state.current not in known and state.current not in stray:
        stray.append(state.current)
    for revision in stray:
        history = by_revision.get(revision, [])
        last = history[-1] if history else None
        entry = MigrationState(
            revision=revision,
            name=None,
            phase=last.phase if last else None,
            description="",
            state="out of plan",
            message="recorded in the database, but no revision file has this id"
            + (" (the database's current revision)" if revision == state.current else ""),
        )
        if last is not None:
            entry.applied_at = last.started_at
            entry.applied_by = _who(last)
            entry.duration_ms = float(last.duration_ms)
        result.append(entry)
    return result, note


def _state(
    migration: Migration, in_chain: bool, history: list[HistoryRow], state: DatabaseState
) -> MigrationState:
    entry = MigrationState(
        revision=migration.revision,
        name=migration.name,
        phase=migration.phase,
        description=migration.description,
        state="pending",
    )
    last = history[-1] if history else None
    if not in_chain:
        if last is not None and last.outcome == "failed" and last.direction == "up":
            entry.state = "failed"
            entry.applied_at = last.started_at
            entry.applied_by = _who(last)
            entry.duration_ms = float(last.duration_ms)
            entry.message = last.message
        elif last is not None and last.direction == "down" and last.outcome == "success":
            entry.message = f"rolled back {last.started_at:%Y-%m-%d %H:%M:%S%z} by {_who(last)}"
        return entry

    from dbkit.engine.registry import LEFT_APPLIED, left_by_phase

    ran = [r for r in history if r.outcome == "success" and r.direction in ("up", "baseline")]
    run = ran[-1] if ran else None
    # a failed phase's marker row is not the run that applied the migration: time that one
    timed = [r for r in ran if not left_by_phase(r.message)] or ran
    entry.state = "baseline" if run is not None and run.direction == "baseline" else "applied"
    if run is not None:
        entry.applied_at = timed[-1].started_at
        entry.applied_by = _who(timed[-1])
        entry.duration_ms = float(timed[-1].duration_ms)
        if run.direction == "baseline":
            entry.message = run.message
    recorded = state.recorded_checksums.get(migration.revision)
    if recorded is None:
        entry.checksum = "unknown"
    else:
        entry.checksum = "ok" if recorded == migration.checksum else "edited"
    if migration.revision in state.left_applied:
        entry.state = "left applied"  # one row for the run (a phase's names its migrations)
        entry.message = state.left_applied[migration.revision]
    elif run is not None and run.direction == "up" and (run.message or "").startswith(LEFT_APPLIED):
        entry.state = "left applied"
        entry.message = run.message
    elif (
        last is not None
        and last.outcome == "failed"
        and last.direction == "up"
        and run is not None
        and last.id > run.id
    ):
        entry.state = "left applied"  # a success row then a failed one (older dbkit)
        entry.message = last.message
    elif last is not None and last.outcome == "failed" and last.direction == "down":
        entry.message = f"a rollback failed {last.started_at:%Y-%m-%d %H:%M:%S%z}: {last.message}"
    return entry
