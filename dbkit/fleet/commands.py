"""The fleet commands: each target's job is the single-database command of :mod:`dbkit.api`.

The plan and the check files are read once here, before anything is connected to; each
target's job gets them (``plan=``, ``check_book=``), so nothing is read again per target.
"""

from __future__ import annotations

import threading

from dbkit.engine.workflow import CheckBook
from dbkit.errors import UsageError
from dbkit.fleet.run import FleetResult, Limits, Observer, Selection, run_fleet
from dbkit.plan.graph import Plan, load_plan
from dbkit.settings import Settings


def _prepare(settings: Settings) -> tuple[Plan, CheckBook]:
    plan = load_plan(settings.project_dir)
    book = CheckBook(plan)
    book.preload(list(plan))  # a malformed check file stops the fleet before it connects
    return plan, book


def migrate(
    settings: Settings,
    selection: Selection,
    limits: Limits,
    *,
    to: str | None = None,
    phase: str | None = None,
    dry_run: bool = False,
    auto_rollback: bool = True,
    perf_threshold: float | None = None,
    confirm=None,
    observer: Observer | None = None,
    stop: threading.Event | None = None,
) -> FleetResult:
    """``confirm``: answers a protected environment's question for every target (``--yes``);
    None refuses a destructive run there, target by target (exit 2, nothing changed)."""
    from dbkit import api

    if to is not None and phase is not None:
        raise UsageError("give either --to or --phase, not both")
    plan, book = _prepare(settings)
    if phase is not None:
        goal_position = plan.phase_span(phase)[1]
    else:
        goal_position = plan.position(plan.resolve(to or "head"))
    goal = plan.migrations[goal_position].revision if goal_position >= 0 else None

    def job(run, target_settings, found, reporter) -> None:
        result = api.migrate(
            target_settings,
            to=to,
            phase=phase,
            dry_run=dry_run,
            auto_rollback=auto_rollback,
            perf_threshold=perf_threshold,
            reporter=reporter,
            confirm=confirm,
            plan=plan,
            check_book=book,
        )
        _settle(run, result, dry_run, step_outcome="applied", outcome="migrated")

    return run_fleet(
        "fleet migrate",
        settings,
        plan,
        selection,
        limits,
        job,
        goal_position=None if dry_run else goal_position,
        goal=goal,
        observer=observer,
        stop=stop,
    )


def rollback(
    settings: Settings,
    selection: Selection,
    limits: Limits,
    *,
    to: str | None = None,
    phase: str | None = None,
    steps: int | None = None,
    level: str = "schema",
    dry_run: bool = False,
    auto_rollback: bool = True,
    confirm=None,
    observer: Observer | None = None,
    stop: threading.Event | None = None,
) -> FleetResult:
    from dbkit import api

    given = [name for name, v in (("--to", to), ("--phase", phase), ("--steps", steps)) if v]
    if len(given) != 1:
        raise UsageError(
            "fleet rollback needs exactly one explicit target: --to REV, --to base, --phase P "
            "or --steps N" + (f" (got {' and '.join(given)})" if given else "")
        )
    if steps is not None and steps < 1:
        raise UsageError(f"--steps must be 1 or more, not {steps}")
    if level not in ("schema", "data", "feature"):
        raise UsageError(f"--level must be schema, data or feature, not {level!r}")
    plan, book = _prepare(settings)
    goal_position = None
    if to is not None:
        goal_position = plan.position(plan.resolve(to))
    elif phase is not None:
        goal_position = plan.phase_span(phase)[0] - 1
    goal = None
    if goal_position is not None and goal_position >= 0:
        goal = plan.migrations[goal_position].revision

    def job(run, target_settings, found, reporter) -> None:
        result = api.rollback(
            target_settings,
            to=to,
            phase=phase,
            steps=steps,
            level=level,
            dry_run=dry_run,
            auto_rollback=auto_rollback,
            reporter=reporter,
            confirm=confirm,
            plan=plan,
            check_book=book,
        )
        outcome = "rolled back" if level == "schema" else f"{level} rolled back"
        _settle(run, result, dry_run, step_outcome="rolled back", outcome=outcome)

    skip = goal_position if level == "schema" and not dry_run else None
    return run_fleet(
        "fleet rollback",
        settings,
        plan,
        selection,
        limits,
        job,
        goal_position=skip,
        goal=goal if goal_position is not None else f"{steps} steps down",
        observer=observer,
        stop=stop,
    )


def status(
    settings: Settings,
    selection: Selection,
    limits: Limits,
    *,
    observer: Observer | None = None,
    stop: threading.Event | None = None,
) -> FleetResult:
    """Where every target stands, from one connection each (the probe); nothing is written."""
    from dbkit.errors import ExitCode

    plan = load_plan(settings.project_dir)

    def job(run, target_settings, found, reporter) -> None:
        if found.changed:
            run.outcome = "edited"
            run.exit_code = int(ExitCode.CHECKSUM_MISMATCH)
            run.error = f"applied migrations were edited since they ran: {', '.join(found.changed)}"
        elif run.pending:
            run.outcome = "pending"
        else:
            run.outcome = "up to date"

    return run_fleet(
        "fleet status",
        settings,
        plan,
        selection,
        limits,
        job,
        goal=plan.head,
        observer=observer,
        stop=stop,
    )


def validate(
    settings: Settings,
    selection: Selection,
    limits: Limits,
    *,
    phase: str | None = None,
    pre: bool = False,
    post: bool = False,
    observer: Observer | None = None,
    stop: threading.Event | None = None,
) -> FleetResult:
    from dbkit import api
    from dbkit.errors import ExitCode

    plan, book = _prepare(settings)
    if phase is not None:
        plan.phase_span(phase)  # unknown phase: a usage error before connecting

    def job(run, target_settings, found, reporter) -> None:
        result = api.validate(
            target_settings, phase=phase, pre=pre, post=post, plan=plan, check_book=book
        )
        failed = result.failed
        run.steps = len(result.checks)
        if failed:
            run.outcome = "checks failed"
            run.exit_code = int(ExitCode.VALIDATION_FAILED)
            run.error = f"{len(failed)} of {len(result.checks)} checks failed: " + ", ".join(
                f"{c.name} ({c.rows_found} rows at {c.location})" for c in failed[:3]
            )
        else:
            run.outcome = "checks passed"
        run.detail = result.to_dict()

    return run_fleet(
        "fleet validate", settings, plan, selection, limits, job, observer=observer, stop=stop
    )


def drift(
    settings: Settings,
    selection: Selection,
    limits: Limits,
    *,
    scratch_url: str | None = None,
    observer: Observer | None = None,
    stop: threading.Event | None = None,
) -> FleetResult:
    from dbkit.compare.drift import drift as run_drift

    plan = load_plan(settings.project_dir)

    def job(run, target_settings, found, reporter) -> None:
        result = run_drift(target_settings, scratch_url=scratch_url)
        run.exit_code = int(result.exit_code)
        if result.ok:
            run.outcome = "no drift"
        else:
            run.outcome = "drift"
            run.error = result.message
        run.detail = result.to_dict()

    return run_fleet(
        "fleet drift", settings, plan, selection, limits, job, observer=observer, stop=stop
    )


def _settle(run, result, dry_run: bool, *, step_outcome: str, outcome: str) -> None:
    """A target's revision and outcome after a migrate or rollback run: a dry run leaves it
    where it was; a run whose steps did nothing is "up to date"."""
    did_something = any(s.outcome == step_outcome for s in result.steps)
    if dry_run:
        run.current = run.before
        run.outcome = "dry run" if did_something else "up to date"
    else:
        run.current = result.to_revision
        run.outcome = outcome if did_something else "up to date"
