"""One command over a fleet: the plan read once, then each target on its own thread.

Each target runs exactly as the single-database command does (:func:`dbkit.api.migrate`,
``rollback``, ``status``, ``validate``, ``drift``) with its own
:class:`~dbkit.settings.Settings` (the project's settings, the target's URL and schema). Before
that, one short connection per target (the *probe*) learns where it stands: unreachable, wrong
password, unsupported major, a revision the files do not know (history ahead of the files), or
the same database as a target probed before it are that target's failure, in one line. A
target already at the goal is reported ``up to date`` from the probe alone, in milliseconds.

Outcomes and exit codes are per target; the fleet's exit code is the most severe of them
(:data:`SEVERITY`).
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dbkit.engine import database, interrupts, registry
from dbkit.engine.database import one_line
from dbkit.engine.steps import Reporter
from dbkit.errors import (
    ConnectionFailed,
    DatabaseStateError,
    DbkitError,
    ExitCode,
    Interrupted,
    UsageError,
)
from dbkit.fleet import targets as fleetfile
from dbkit.fleet.scheduler import Scheduler
from dbkit.fleet.targets import Target
from dbkit.plan.graph import Plan
from dbkit.secrets import scrub
from dbkit.settings import Settings

# Most severe first: a broken target outranks a failed check, which outranks an edited file, a
# target that cannot go where it was asked, and a lock another run holds (retry later).
SEVERITY = (
    ExitCode.INTERRUPTED,
    ExitCode.TERMINATED,
    ExitCode.FAILURE,
    ExitCode.VALIDATION_FAILED,
    ExitCode.CHECKSUM_MISMATCH,
    ExitCode.USAGE,
    ExitCode.LOCK_NOT_ACQUIRED,
)
MAX_DEFAULT_JOBS = 16
# Outcomes of targets whose revision is not known (the summary counts them apart).
_NOWHERE = (
    "unreachable",
    "login failed",
    "unsupported",
    "duplicate",
    "unknown revision",
    "not started",
)


class FleetStopped(Interrupted):
    """A target stopped between two migrations because the fleet run was told to stop
    (exit code 130 for SIGINT, 143 for SIGTERM, as a single interrupted run)."""


def stop_code(stop: threading.Event) -> int:
    """The exit code of a stop: the signal the CLI recorded on the event (``signum``)."""
    return interrupts.exit_code_of(getattr(stop, "signum", signal.SIGINT))


@dataclass
class TargetRun:
    """One target's row: the live table shows it, the JSON document ends with it."""

    target: Target
    state: str = "waiting"  # waiting | running | done
    phase: str = ""  # what it is doing now ("connecting", "up 0003_orders", ...)
    before: str | None = None
    current: str | None = None
    after: str | None = None
    outcome: str = "not started"
    exit_code: int = 0
    error: str | None = None
    steps: int = 0
    pending: int | None = None
    changed: list[str] = field(default_factory=list)
    failures: int = 0
    last_failure: str | None = None
    started: float | None = None
    finished: float | None = None
    detail: dict[str, Any] | None = None  # the single-target command's own result

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    @property
    def failed(self) -> bool:
        return self.exit_code != 0

    def to_dict(self) -> dict[str, Any]:
        data = {
            "name": self.name,
            "database": self.target.display,
            "schema": self.target.schema,
            "groups": list(self.target.groups),
            "server": self.target.server,
            "before": self.before,
            "after": self.after,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "error": self.error,
            "steps": self.steps,
            "duration_ms": round(self.seconds * 1000, 3),
        }
        if self.pending is not None:
            data.update(
                pending=self.pending,
                changed=self.changed,
                failures=self.failures,
                last_failure=self.last_failure,
            )
        if self.detail is not None:
            data["result"] = self.detail
        return data


@dataclass
class FleetResult:
    command: str
    goal: str | None
    runs: list[TargetRun]
    jobs: int
    per_server: int
    stopped: str | None = None
    duration_ms: float = 0.0
    peak_connections: dict[str, int] = field(default_factory=dict)
    stop_code: int | None = None  # 130/143 when a signal stopped the fleet

    @property
    def exit_code(self) -> int:
        codes = {r.exit_code for r in self.runs if r.exit_code}
        for code in SEVERITY:
            if code in codes:
                return int(code)
        if codes:
            return max(codes)
        if self.stopped and self.not_started:
            return self.stop_code or int(ExitCode.FAILURE)
        return 0

    @property
    def not_started(self) -> list[TargetRun]:
        return [r for r in self.runs if r.outcome == "not started"]

    def summary(self) -> str:
        """ "97 at 0037, 2 at 0031, 1 unreachable": where the targets stand."""
        at: Counter[str] = Counter()
        other: Counter[str] = Counter()
        problems: Counter[str] = Counter()
        for run in self.runs:
            if run.outcome in _NOWHERE:
                other[run.outcome] += 1
                continue
            at[run.after or "base"] += 1
            if run.failed:
                problems[run.outcome] += 1
        parts = [f"{n} at {rev}" for rev, n in sorted(at.items(), key=lambda kv: (-kv[1], kv[0]))]
        parts += [f"{n} {what}" for what, n in sorted(other.items())]
        text = ", ".join(parts) if parts else "no targets"
        if problems:
            text += "; " + ", ".join(f"{n} {what}" for what, n in sorted(problems.items()))
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "goal": self.goal,
            "exit_code": self.exit_code,
            "summary": self.summary(),
            "stopped": self.stopped,
            "jobs": self.jobs,
            "per_server": self.per_server,
            "peak_connections": dict(self.peak_connections),
            "duration_ms": round(self.duration_ms, 3),
            "targets": [r.to_dict() for r in self.runs],
        }


class Observer:
    """Hears about targets as they change (the CLI draws the table or prints lines)."""

    def started(self, runs: list[TargetRun]) -> None:
        pass

    def updated(self, run: TargetRun) -> None:
        pass

    def finished(self, run: TargetRun) -> None:
        pass


@dataclass
class Selection:
    """Which targets of the fleet a command is about."""

    fleet_file: str | Path | None = None
    groups: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


@dataclass
class Limits:
    jobs: int | None = None
    per_server: int | None = None
    canary: str | None = None
    max_failures: int | None = None


# -- preparing: file, catalogs, selection --------------------------------------------------


def load_targets(
    settings: Settings, selection: Selection, environ: dict[str, str] | None = None
) -> tuple[fleetfile.FleetSpec, list[Target]]:
    """The fleet file checked, the catalogs read, the selection applied (no target touched)."""
    path = fleetfile.find_fleet_file(settings.project_dir, selection.fleet_file)
    spec = fleetfile.load(path, environ)
    extra: list[Target] = []
    for catalog in spec.catalogs:
        extra += fleetfile.catalog_targets(spec, catalog, _catalog_rows(catalog, settings))
    everything = fleetfile.finish(spec, extra)
    chosen = everything
    known = fleetfile.known_groups(spec, everything)
    if selection.groups:
        for group in selection.groups:
            if group not in known:
                raise UsageError(
                    f"no group {group!r} in {path.name}",
                    hint=f"groups: {', '.join(sorted(known)) or 'none'}",
                )
        wanted = {
            t.name for g in selection.groups for t in fleetfile.group_members(spec, chosen, g)
        }
        chosen = [t for t in chosen if t.name in wanted]
    if selection.names:
        names = {t.name for t in everything}
        for name in selection.names:
            if name not in names:
                raise UsageError(f"no target named {name!r} in {path.name}")
        chosen = [t for t in chosen if t.name in selection.names]
    if not chosen:
        raise UsageError("the selection matches no target")
    return spec, chosen


def _catalog_rows(catalog: fleetfile.Catalog, settings: Settings) -> list[dict[str, Any]]:
    import psycopg

    try:
        conn = database.connect(catalog.url, settings)
    except DbkitError as exc:
        raise ConnectionFailed(f"{catalog.origin}: cannot read the catalog: {exc}") from None
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            cursor = conn.execute(catalog.query)
            if cursor.description is None:
                raise fleetfile.FleetFileError(f"{catalog.origin}: the query returned no rows")
            columns = [c.name for c in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    except psycopg.Error as exc:
        raise fleetfile.FleetFileError(
            f"{catalog.origin}: the catalog query failed: {one_line(scrub(str(exc), catalog.url))}"
        ) from None
    finally:
        conn.close()


def target_settings(base: Settings, target: Target, shared: tuple[str, ...] = ()) -> Settings:
    """The project's settings aimed at one target (``shared``: the fleet's shared schemas)."""
    return replace(
        base,
        url=target.url,
        url_source=target.origin,
        schema=target.schema,
        shared_schemas=shared if target.schema else (),
    )


def _limits(spec: fleetfile.FleetSpec, chosen: list[Target], limits: Limits) -> tuple[int, int]:
    per_server = limits.per_server or spec.per_server
    if limits.jobs is not None:
        jobs = limits.jobs
    elif spec.jobs != fleetfile.DEFAULT_JOBS:
        jobs = spec.jobs
    else:
        servers = len({t.server for t in chosen})
        jobs = min(MAX_DEFAULT_JOBS, per_server * servers)
    if jobs < 1 or per_server < 1:
        raise UsageError("--jobs and --per-server must be 1 or more")
    if limits.max_failures is not None and limits.max_failures < 1:
        raise UsageError(f"--max-failures must be 1 or more, not {limits.max_failures}")
    return jobs, per_server


# -- the probe -----------------------------------------------------------------------------


@dataclass
class Probe:
    identity: tuple
    current: str | None
    position: int
    changed: list[str]
    failures: int
    last_failure: str | None


_IDENTITY = (
    "SELECT pg_postmaster_start_time()::text, current_setting('port'), "
    "(SELECT oid FROM pg_database WHERE datname = current_database())::text, "
    "to_regclass('dbkit.history') IS NOT NULL"
)
_FAILURES = (
    "SELECT count(*), (array_agg(revision || ': ' || coalesce(message, 'failed') "
    "ORDER BY id DESC))[1] FROM dbkit.history WHERE outcome = 'failed' AND id > "
    "coalesce((SELECT max(id) FROM dbkit.history WHERE outcome = 'success'), 0)"
)


def probe(settings: Settings, plan: Plan) -> Probe:
    """Connect once, read where the target stands; raise its failure as a DbkitError."""
    import psycopg

    url = settings.database_url()
    with registry.scoped(settings.schema):
        conn = database.connect(url, settings)
        try:
            *identity, has_history = conn.execute(registry.in_scope(_IDENTITY)).fetchone()
            identity = (*identity, settings.schema)
            state = registry.read_state(conn)
            failures, last = 0, None
            if has_history:
                failures, last = conn.execute(registry.in_scope(_FAILURES)).fetchone()
        except psycopg.Error as exc:
            raise DbkitError(f"database error: {one_line(scrub(str(exc), url))}") from None
        finally:
            conn.close()
    position = registry.position_in(plan, state)
    changed = [
        m.name
        for m in plan.migrations[: position + 1]
        if state.recorded_checksums.get(m.revision, m.checksum) != m.checksum
    ]
    return Probe(identity, state.current, position, changed, failures, last)


def _outcome_of(exc: DbkitError) -> str:
    from dbkit.errors import UnsupportedServer

    if isinstance(exc, ConnectionFailed):
        text = exc.message.lower()
        refused = "authentication failed" in text or "password" in text or "role" in text
        return "login failed" if refused else "unreachable"
    if isinstance(exc, UnsupportedServer):
        return "unsupported"
    if isinstance(exc, Interrupted):  # FleetStopped, or a signal stopped its migration
        return "interrupted"
    if isinstance(exc, DatabaseStateError):
        return "unknown revision" if "not in" in exc.message else "failed"
    return "failed"


# -- running -------------------------------------------------------------------------------


class _TargetReporter(Reporter):
    """Keeps the target's row current and stops between migrations when told to."""

    def __init__(
        self, run: TargetRun, plan: Plan, stop: threading.Event, observer: Observer
    ) -> None:
        self.run = run
        self.plan = plan
        self.stop = stop
        self.observer = observer

    def step_started(self, migration, direction: str) -> None:
        if self.stop.is_set():
            raise FleetStopped(
                f"stopped before {'migrating' if direction == 'up' else 'rolling back'} "
                f"{migration.name}: the fleet run was interrupted",
                exit_code=stop_code(self.stop),
            )
        self.run.phase = f"{direction} {migration.name}"
        self.observer.updated(self.run)

    def step_finished(self, result) -> None:
        if result.outcome == "applied":
            self.run.current = result.revision
        elif result.outcome == "rolled back":
            self.run.current = self.plan.get(result.revision).down_revision
        self.run.steps += 1
        self.observer.updated(self.run)


Job = Callable[[TargetRun, Settings, Probe, _TargetReporter], None]


def run_fleet(
    command: str,
    base: Settings,
    plan: Plan,
    selection: Selection,
    limits: Limits,
    job: Job,
    *,
    goal_position: int | None = None,
    goal: str | None = None,
    observer: Observer | None = None,
    stop: threading.Event | None = None,
) -> FleetResult:
    """Probe and run every selected target; the canary group first when asked."""
    t0 = time.perf_counter()
    observer = observer or Observer()
    stop = stop or threading.Event()
    spec, chosen = load_targets(base, selection)
    jobs, per_server = _limits(spec, chosen, limits)
    canary: list[Target] = []
    if limits.canary is not None:
        if limits.canary not in fleetfile.known_groups(spec, chosen):
            raise UsageError(f"no group {limits.canary!r} for --canary in {spec.path.name}")
        canary = fleetfile.group_members(spec, chosen, limits.canary)
        if not canary:
            raise UsageError(f"--canary {limits.canary}: no selected target is in that group")
    for migration in plan:
        migration.checksum  # noqa: B018 - read the files once, before the threads start

    runs = {t.name: TargetRun(t) for t in chosen}
    ordered = [runs[t.name] for t in canary] + [runs[t.name] for t in chosen if t not in canary]
    observer.started(list(runs.values()))
    seen: dict[tuple, str] = {}
    seen_lock = threading.Lock()

    def one(run: TargetRun) -> bool:
        # inside an api call, for the signal handler: a signal the main thread receives
        # cancels this target's statement and undoes its step (library callers)
        with interrupts.working():
            return _one(run)

    def _one(run: TargetRun) -> bool:
        run.state, run.phase, run.started = "running", "connecting", time.monotonic()
        observer.updated(run)
        settings = target_settings(base, run.target, spec.shared_schemas)
        reporter = _TargetReporter(run, plan, stop, observer)
        try:
            found = probe(settings, plan)
            run.before = run.current = run.after = found.current
            run.changed, run.failures = found.changed, found.failures
            run.last_failure = found.last_failure
            run.pending = len(plan.migrations) - 1 - found.position
            with seen_lock:
                first = seen.setdefault(found.identity, run.name)
            if first != run.name:
                run.outcome = "duplicate"
                raise DbkitError(
                    f"names the same database as target {first}; not run twice",
                    hint="list each database (or tenant schema) once in the fleet",
                )
            if goal_position is not None and found.position == goal_position and not found.changed:
                run.outcome = "up to date"
            else:
                run.phase = "running"
                observer.updated(run)
                job(run, settings, found, reporter)
        except DbkitError as exc:
            run.exit_code = int(exc.exit_code)
            run.error = str(exc)
            if run.outcome != "duplicate":
                run.outcome = _outcome_of(exc)
            if exc.completed:
                run.steps = len(exc.completed)
        except Exception as exc:  # noqa: BLE001 - one target's bug is that target's failure
            run.exit_code = int(ExitCode.FAILURE)
            run.error = f"unexpected error: {type(exc).__name__}: {one_line(str(exc))}"
            run.outcome = "failed"
        finally:
            run.after = run.current
            run.state, run.phase, run.finished = "done", "", time.monotonic()
            observer.finished(run)
        return run.failed

    scheduler = Scheduler(
        jobs=jobs, per_server=per_server, stop=stop, max_failures=limits.max_failures
    )

    def server(run: TargetRun) -> str:
        return run.target.server

    rest = ordered
    if canary:
        first_wave = ordered[: len(canary)]
        rest = ordered[len(canary) :]
        scheduler.run(first_wave, one, server)
        if any(r.failed for r in first_wave) and not stop.is_set():
            scheduler.halt(f"the canary group {limits.canary} failed")
    if not stop.is_set():
        scheduler.run(rest, one, server)
    stopped = None
    if stop.is_set():
        stopped = scheduler.stop_reason or "interrupted"
        for run in ordered:
            if run.state == "waiting":
                run.error = f"not started: {stopped}"
    result = FleetResult(
        command=command,
        goal=goal,
        runs=[runs[t.name] for t in chosen],
        jobs=jobs,
        per_server=per_server,
        stopped=stopped,
        peak_connections=dict(scheduler.peak),
        stop_code=stop_code(stop) if stopped == "interrupted" else None,
    )
    result.duration_ms = (time.perf_counter() - t0) * 1000
    return result
