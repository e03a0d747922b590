"""The vocabulary of a run: steps, their results, and who hears about them.

Kept apart from the runner so the library's result types and the reporter protocol can be
read (and imported) without the execution machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbkit.engine.guard import GuardResult
    from dbkit.engine.preserve import Snapshot
    from dbkit.plan.checks import Check, CheckResult
    from dbkit.plan.graph import Migration


@dataclass
class StepResult:
    """What happened to one migration in one direction."""

    revision: str
    name: str
    phase: str
    direction: str
    outcome: str  # applied | rolled back | skipped | unknown (dry run, after a skip) | failed
    duration_ms: float = 0.0
    transactional: bool = True
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "duration_ms": round(self.duration_ms, 3)}


class Reporter:
    """Receives progress as it happens; the CLI prints it, the library default ignores it."""

    def step_started(self, migration: Migration, direction: str) -> None:
        pass

    def step_finished(self, result: StepResult) -> None:
        pass

    def check_finished(self, result: CheckResult) -> None:
        pass

    def guard_finished(self, result: GuardResult) -> None:
        pass

    def note(self, text: str) -> None:
        pass


@dataclass(frozen=True)
class Watch:
    """The data-preservation query to run right after a migration's SQL, inside its
    transaction (so a loss is undone by rolling it back), and how to judge its rows."""

    snapshot: Snapshot
    query: tuple[str, tuple]
    when: str
    in_transaction: bool


@dataclass(frozen=True)
class StepChecks:
    """What to check around one step: given by the workflow, executed by the runner.

    Plain data, so the runner never calls back into the workflow: the workflow decides which
    checks belong to a step, the runner runs them in their places and returns the results.
    """

    pre: tuple[Check, ...] = ()
    post: tuple[Check, ...] = ()
    watch: Watch | None = None


NO_CHECKS = StepChecks()


@dataclass(frozen=True)
class Step:
    migration: Migration
    direction: str  # up | down
    from_revision: str | None
    to_revision: str | None


def steps_up(migrations: list[Migration]) -> list[Step]:
    return [Step(m, "up", m.down_revision, m.revision) for m in migrations]


def steps_down(migrations: list[Migration]) -> list[Step]:
    return [Step(m, "down", m.revision, m.down_revision) for m in reversed(migrations)]
