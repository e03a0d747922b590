"""The performance guard: key queries must not get slower across a phase.

Timing one run of a query on a shared machine says little, so each measurement warms the
query up, times several runs and keeps the median; the planner's estimated total cost
(``EXPLAIN``) is a second, noise-free signal. A query trips the guard only when both agree
it got slower than the threshold allows (and the median grew by more than a small absolute
floor, since a 20% change of 50 microseconds is noise): a slower median with an unchanged
plan cost is reported as noise, a costlier plan that runs as fast is reported, not tripped.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from dbkit.plan.checks import Check

WARMUP_RUNS = 2
TIMED_RUNS = 7
ABSOLUTE_FLOOR_MS = 0.5


@dataclass(frozen=True)
class Measurement:
    median_ms: float
    runs_ms: tuple[float, ...]
    cost: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_ms": round(self.median_ms, 3),
            "runs_ms": [round(r, 3) for r in self.runs_ms],
            "cost": self.cost,
        }


@dataclass(frozen=True)
class GuardResult:
    """One key query before and after a phase."""

    name: str
    location: str
    phase: str
    before: Measurement
    after: Measurement
    threshold: float

    @property
    def time_ratio(self) -> float:
        return self.after.median_ms / self.before.median_ms if self.before.median_ms else 1.0

    @property
    def cost_ratio(self) -> float | None:
        if self.before.cost is None or self.after.cost is None or not self.before.cost:
            return None
        return self.after.cost / self.before.cost

    @property
    def slower_in_time(self) -> bool:
        grew = self.after.median_ms - self.before.median_ms
        return self.time_ratio > 1 + self.threshold and grew > ABSOLUTE_FLOOR_MS

    @property
    def slower_in_cost(self) -> bool:
        ratio = self.cost_ratio
        return ratio is not None and ratio > 1 + self.threshold

    @property
    def tripped(self) -> bool:
        return self.slower_in_time and self.slower_in_cost

    @property
    def verdict(self) -> str:
        if self.tripped:
            return "slower"
        if self.slower_in_time:
            return "ok (slower timing, same plan cost: noise)"
        if self.slower_in_cost:
            return "ok (higher plan cost, same timing)"
        return "ok"

    def describe(self) -> str:
        cost = ""
        if self.cost_ratio is not None:
            cost = (
                f", plan cost {self.before.cost:g} -> {self.after.cost:g} ({self.cost_ratio:.2f}x)"
            )
        return (
            f"key query {self.name} ({self.location}): median {self.before.median_ms:.2f} ms -> "
            f"{self.after.median_ms:.2f} ms ({self.time_ratio:.2f}x){cost}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "location": self.location,
            "phase": self.phase,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "time_ratio": round(self.time_ratio, 3),
            "cost_ratio": None if self.cost_ratio is None else round(self.cost_ratio, 3),
            "threshold": self.threshold,
            "tripped": self.tripped,
            "verdict": self.verdict,
        }


def missing_relations(conn: psycopg.Connection, check: Check) -> list[str]:
    """The relations a key query names that do not exist (yet): it cannot be timed."""
    from dbkit.plan.sqltext import Statement

    names = Statement(text=check.query, line=check.line, offset=0).relations
    if not names:
        return []
    rows = conn.execute(
        "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL",
        (names,),
    ).fetchall()
    return [row[0] for row in rows]


def measure(conn: psycopg.Connection, check: Check, *, runs: int = TIMED_RUNS) -> Measurement:
    """Median wall time of ``runs`` executions after a warm-up, and the plan's total cost.

    Read-only, like every check: a key query cannot change what it measures."""
    from dbkit.engine.runner import read_only

    with read_only(conn):
        cost = None
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) {check.query}").fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        try:
            cost = float(plan[0]["Plan"]["Total Cost"])
        except (KeyError, IndexError, TypeError, ValueError):
            cost = None
        for _ in range(WARMUP_RUNS):
            conn.execute(check.query).fetchall()
        timings = []
        for _ in range(runs):
            t0 = time.perf_counter()
            conn.execute(check.query).fetchall()
            timings.append((time.perf_counter() - t0) * 1000)
    return Measurement(statistics.median(timings), tuple(timings), cost)
