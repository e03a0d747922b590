"""What users call: one function per command, returning result objects.

The CLI is a thin layer over these functions: every command parses its options, calls exactly
one function here and renders the result it returns (``tests/test_layers.py`` checks it).
Anything the CLI does, Python code can do by calling them with a
:class:`~dbkit.settings.Settings` from :func:`dbkit.settings.resolve`.

Importing this module is cheap: each function imports the layers it needs when it runs, so
``dbkit status`` never loads the runner, the workflow, preservation or the guard, and the
offline commands never load psycopg.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Light modules only (none imports the driver until it connects); the heavy layers (runner,
# workflow, preservation, guard, compare, lint, the embedded server) are imported inside the
# functions that use them.
from dbkit.engine import database, interrupts, registry
from dbkit.engine.database import one_line
from dbkit.errors import (
    ChecksumMismatch,
    DatabaseStateError,
    DbkitError,
    ExitCode,
    ProjectError,
    RevisionNotFound,
    UsageError,
)
from dbkit.plan import sqlrules
from dbkit.plan.graph import (
    ROLLBACK_DIR,
    SQL_DIR,
    VALIDATION_DIR,
    Migration,
    Plan,
    load_plan,
    load_readable_plan,
)
from dbkit.secrets import scrub
from dbkit.settings import Settings, config_file
from dbkit.text import plural

if TYPE_CHECKING:
    import psycopg

    from dbkit.compare.drift import DriftResult
    from dbkit.compare.verify import MigrationVerdict, VerifyResult
    from dbkit.embedded.server import EmbeddedStatus
    from dbkit.engine.guard import GuardResult
    from dbkit.engine.steps import Reporter, StepResult
    from dbkit.plan.checks import CheckBook, CheckResult
    from dbkit.plan.show import RevisionView

#: Types users meet in results, importable from here (``api.Reporter``) but loaded only when
#: asked for, so importing the facade stays cheap.
_LAZY_NAMES = {
    "Reporter": "dbkit.engine.steps",
    "StepResult": "dbkit.engine.steps",
    "GuardResult": "dbkit.engine.guard",
    "CheckResult": "dbkit.plan.checks",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        import importlib

        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class RunResult:
    """Outcome of ``migrate`` or ``rollback``."""

    command: str
    database: str
    from_revision: str | None
    to_revision: str | None
    dry_run: bool
    steps: list[StepResult] = field(default_factory=list)
    duration_ms: float = 0.0
    message: str | None = None
    level: str = "schema"
    checks: list[CheckResult] = field(default_factory=list)
    guard: list[GuardResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. an empty SQL file it applied

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "database": self.database,
            "from_revision": self.from_revision,
            "to_revision": self.to_revision,
            "dry_run": self.dry_run,
            "level": self.level,
            "steps": [s.to_dict() for s in self.steps],
            "checks": [c.to_dict() for c in self.checks],
            "performance_guard": [g.to_dict() for g in self.guard],
            "warnings": self.warnings,
            "duration_ms": round(self.duration_ms, 3),
            "message": self.message,
        }


@dataclass
class MigrationInfo:
    revision: str
    name: str
    phase: str
    description: str
    transactional: bool

    @classmethod
    def of(cls, migration: Migration) -> MigrationInfo:
        return cls(
            migration.revision,
            migration.name,
            migration.phase,
            migration.description,
            migration.transactional,
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class StatusResult:
    database: str
    current_revision: str | None
    current_phase: str | None
    head: str | None
    applied: int
    pending: list[MigrationInfo]
    changed: list[MigrationInfo]
    unrecorded: list[MigrationInfo]
    heads: list[str] = field(default_factory=list)
    #: problems of a forked plan (two heads, duplicate number): status still reports, migrate
    #: refuses until `dbkit rebase` makes the chain linear again
    plan_problems: list[str] = field(default_factory=list)
    notice: str | None = None  # e.g. tables but no dbkit history: points to baseline/adopt
    #: applied migrations whose last run failed its checks and was left applied
    #: (--no-auto-rollback), with that run's message
    left_applied: list[dict[str, str]] = field(default_factory=list)
    #: non-transactional runs that started and did not finish (or are running now)
    interrupted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.CHECKSUM_MISMATCH if self.changed else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "current_revision": self.current_revision,
            "current_phase": self.current_phase,
            "head": self.head,
            "applied": self.applied,
            "up_to_date": not self.pending,
            "pending": [m.to_dict() for m in self.pending],
            "changed": [m.to_dict() for m in self.changed],
            "unrecorded": [m.to_dict() for m in self.unrecorded],
            "heads": self.heads,
            "plan_problems": self.plan_problems,
            "notice": self.notice,
            "left_applied": self.left_applied,
            "interrupted": self.interrupted,
        }


@dataclass
class RegistryChange:
    """Outcome of ``baseline`` or ``repair``: rows written, no SQL of migrations run."""

    command: str
    database: str
    revisions: list[str]
    current_revision: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- signals -------------------------------------------------------------------------------


@contextmanager
def signals_handled() -> Iterator[None]:
    """SIGINT and SIGTERM handled in the block as the CLI handles them (main thread only).

    Every api function below that touches a database does this by itself for its own call
    when the program left both signals at Python's defaults. Use it around a program's own
    threads calling the api (a signal reaches only the main thread, which then interrupts
    them), or to put dbkit's handling over the program's own handlers for a while. Inside it,
    a signal makes the running api call (in any thread) cancel its statement on the server,
    undo its step, write its ``interrupted`` history row, release the lock, drop scratch
    databases and raise :class:`dbkit.errors.Interrupted` (``exit_code`` 130 for SIGINT, 143
    for SIGTERM); the main thread, when not inside an api call, gets a ``KeyboardInterrupt``.
    A second signal cancels every statement dbkit runs and raises again.
    """
    with interrupts.handled():
        yield


#: The api function running in this thread (``status``, ``fleet migrate``), to name it.
_COMMAND: ContextVar[str | None] = ContextVar("dbkit_api_command", default=None)


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    """An api function with the CLI's signal guarantees for library callers (see
    :func:`signals_handled` and :mod:`dbkit.engine.interrupts`)."""
    import functools

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        token = _COMMAND.set(function.__name__.replace("_", " "))
        with interrupts.handled(only_if_default=True), interrupts.working():
            try:
                return function(*args, **kwargs)
            except interrupts.SignalInterrupt as exc:  # one that no layer turned into a state
                raise interrupts.interrupted(
                    exc,
                    f"dbkit.api.{function.__name__}",
                    "run `dbkit status` to see where the database is",
                ) from None
            finally:
                _COMMAND.reset(token)

    return call


# -- sessions ----------------------------------------------------------------------------


@contextmanager
def _session(
    settings: Settings, reporter: Reporter | None = None, *, lock: bool = True
) -> Iterator[psycopg.Connection]:
    """One connection for the whole command, holding the migration lock if asked."""
    url = settings.database_url()
    import psycopg

    with registry.scoped(settings.schema):
        conn = database.connect(url, settings)
        try:
            if lock:
                with database.migration_lock(
                    conn,
                    settings.lock_wait,
                    reporter.note if reporter else None,
                    key=database.lock_key(settings.schema),
                    settings_file=config_file(settings.project_dir),
                ):
                    yield conn
            else:
                yield conn
        except psycopg.Error as exc:
            raise _database_error(conn, exc, url, settings) from None
        except KeyboardInterrupt as exc:  # outside a migration: nothing of this command is kept
            what = f"dbkit {_COMMAND.get()}" if _COMMAND.get() else "the command"
            raise interrupts.interrupted(exc, what, "nothing was changed") from None
        finally:
            conn.close()


def _extension_hint(settings: Settings) -> str:
    if settings.uses_embedded:
        return (
            "the embedded default server is built without them; point dbkit at a PostgreSQL "
            "server that has them (its contrib package installed) with --url or "
            "DBKIT_DATABASE_URL, and for verify and drift with the `scratch_url` setting (or "
            "`dbkit verify --url URL` / `dbkit drift --scratch-url URL`)"
        )
    return "install the extension's package on that server, or point --url at one that has it"


def _database_error(conn, exc, url: str, settings: Settings) -> DbkitError:
    """One line for a driver error of dbkit's own queries, saying what it needs or waits for."""
    text = one_line(scrub(str(exc), url))
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == "55P03":  # lock_not_available: dbkit's own query hit lock_timeout
        holders = database.exclusive_lock_holders(conn)
        held = f": {'; '.join(holders)}" if holders else ""
        return DbkitError(
            f"dbkit's own query waited longer than lock_timeout ({settings.lock_timeout}) for "
            f"a lock another session holds{held}",
            hint="wait for that session to finish (or end it), then run the command again",
        )
    if sqlstate == "42501" and ("dbkit" in text or "alembic_version" in text):
        return DbkitError(
            f"database error: {text}",
            hint="dbkit's registry needs USAGE on schema dbkit and SELECT on its tables (and on "
            "alembic_version) for read-only commands; migrate and rollback also need INSERT "
            "and DELETE on them, UPDATE/INSERT/DELETE on alembic_version, and CREATE on the "
            "database (or an existing schema dbkit) the first time",
        )
    return DbkitError(f"database error: {text}")


def _check_checksums(plan: Plan, state: registry.DatabaseState) -> None:
    changed = _changed(plan, state)
    if changed:
        names = ", ".join(m.name for m in changed)
        raise ChecksumMismatch(
            f"applied migrations were edited since they ran: {names}",
            revisions=[m.revision for m in changed],
            hint="restore the files, or run `dbkit repair` to accept the edit on purpose",
        )


def _applied(plan: Plan, state: registry.DatabaseState) -> list[Migration]:
    return list(plan.migrations[: _position(plan, state) + 1])


def _position(plan: Plan, state: registry.DatabaseState) -> int:
    return registry.position_in(plan, state)


def _changed(plan: Plan, state: registry.DatabaseState) -> list[Migration]:
    return [
        m
        for m in _applied(plan, state)
        if m.revision in state.recorded_checksums
        and state.recorded_checksums[m.revision] != m.checksum
    ]


# -- the production guard -----------------------------------------------------------------

#: Asked before a destructive command runs on a ``protected = true`` environment: given the
#: text naming the database and what will run, True to go ahead. The CLI asks on the terminal
#: (or answers yes for ``--yes``); without a terminal it passes None, which refuses.
Confirm = Callable[[str], bool]


def _guard(settings: Settings, confirm: Confirm | None, command: str, actions: list[str]) -> None:
    """Refuse or confirm a destructive ``command`` on a protected environment; nothing has
    been changed when this raises."""
    if not settings.protected or not actions:
        return
    where = f"environment {settings.env} (protected), database {settings.display_url()}"
    if confirm is None:
        raise UsageError(
            f"{command} on {where} needs confirmation and there is no terminal to ask on; "
            "nothing was changed",
            hint="run it on a terminal, or pass --yes to confirm",
        )
    text = f"{command} on {where}:\n" + "\n".join(f"  {action}" for action in actions)
    if not confirm(text):
        raise UsageError(f"{command} on {where} was not confirmed; nothing was changed")


# -- migrate / rollback ---------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    """How a migrate or rollback run behaves beyond its target."""

    dry_run: bool = False
    auto_rollback: bool = True
    perf_threshold: float | None = None  # default: settings' perf_threshold
    confirm: Confirm | None = None  # asked before a destructive run on a protected environment


@_guarded
def migrate(
    settings: Settings,
    *,
    to: str | None = None,
    phase: str | None = None,
    dry_run: bool = False,
    auto_rollback: bool = True,
    perf_threshold: float | None = None,
    reporter: Reporter | None = None,
    confirm: Confirm | None = None,
    plan: Plan | None = None,
    check_book: CheckBook | None = None,
) -> RunResult:
    """Apply pending migrations up to ``to`` (default head) or to the end of ``phase``.

    ``plan`` and ``check_book`` (read once by the caller, e.g. for a fleet of targets) save
    reading the project's files again; by default they are read here.
    """
    if to is not None and phase is not None:
        raise UsageError("give either --to or --phase, not both")
    plan = load_plan(settings.project_dir) if plan is None else plan
    if phase is not None:
        target = plan.phase_span(phase)[1]
    else:
        target = plan.position(plan.resolve(to or "head"))

    def choose(current: int) -> list[Migration]:
        if target < current:
            raise UsageError(
                f"the database is at {plan.migrations[current].name}, past the target "
                f"{plan.migrations[target].name if target >= 0 else 'base'}",
                hint="migrate never goes down; use `dbkit rollback --to ...`",
            )
        return plan.between(current, target)

    options = RunOptions(dry_run, auto_rollback, perf_threshold, confirm)
    return _run(settings, plan, "migrate", choose, options, reporter, book=check_book)


@_guarded
def rollback(
    settings: Settings,
    *,
    to: str | None = None,
    phase: str | None = None,
    steps: int | None = None,
    level: str = "schema",
    dry_run: bool = False,
    auto_rollback: bool = True,
    reporter: Reporter | None = None,
    confirm: Confirm | None = None,
    plan: Plan | None = None,
    check_book: CheckBook | None = None,
) -> RunResult:
    """Roll back to ``to`` (a revision or ``base``), to before ``phase``, or by ``steps``.

    ``level`` is ``schema`` (the paired rollbacks, the default), ``data`` (run the
    ``.data.sql`` files: keep the tables, remove the data the migrations introduced) or
    ``feature`` (run the ``.feature.sql`` files: keep tables and data, switch the feature off).
    """
    options = (("--to", to), ("--phase", phase), ("--steps", steps))
    given = [name for name, value in options if value is not None]
    if len(given) != 1:
        raise UsageError(
            "rollback needs exactly one explicit target: --to REV, --to base, --phase P or "
            "--steps N" + (f" (got {' and '.join(given)})" if given else "")
        )
    if steps is not None and steps < 1:
        raise UsageError(f"--steps must be 1 or more, not {steps}")
    if level not in ("schema", "data", "feature"):
        raise UsageError(f"--level must be schema, data or feature, not {level!r}")
    plan = load_plan(settings.project_dir) if plan is None else plan
    if to is not None:
        fixed_target = plan.position(plan.resolve(to))
    elif phase is not None:
        fixed_target = plan.phase_span(phase)[0] - 1
    else:
        fixed_target = None

    def choose(current: int) -> list[Migration]:
        target = current - steps if fixed_target is None else fixed_target
        if steps is not None and target < -1:
            raise UsageError(
                f"--steps {steps} goes past base: only {current + 1} migrations are applied"
            )
        if target > current:
            raise UsageError(
                f"{plan.migrations[target].name} is not applied (the database is at "
                f"{plan.migrations[current].name if current >= 0 else 'base'})",
                hint="rollback never goes up; use `dbkit migrate --to ...`",
            )
        return plan.between(target, current)

    run_options = RunOptions(dry_run, auto_rollback, confirm=confirm)
    return _run(
        settings, plan, "rollback", choose, run_options, reporter, level=level, book=check_book
    )


def _destructive(command: str, chosen: list[Migration], level: str) -> list[str]:
    """What a run does that a protected environment confirms: every rollback; a migrate
    only when a migration in it declares data removal (``removes_data``)."""
    if command == "rollback":
        if level != "schema":
            return [
                f"run {m.relpath(m.level_path(level))} ({level}-level rollback of {m.name})"
                for m in reversed(chosen)
                if m.level_path(level).is_file()
            ]
        return [f"roll back {m.name} with {m.relpath(m.down_path)}" for m in reversed(chosen)]
    return [
        f"apply {m.name}, which removes data from {', '.join(m.removes_data)}"
        for m in chosen
        if m.removes_data
    ]


def _run(
    settings: Settings,
    plan: Plan,
    command: str,
    choose,
    options: RunOptions,
    reporter: Reporter | None,
    *,
    level: str = "schema",
    book: CheckBook | None = None,
) -> RunResult:
    from dbkit.engine.steps import steps_down, steps_up
    from dbkit.engine.workflow import Workflow
    from dbkit.plan.checks import CheckBook

    t0 = time.perf_counter()
    if book is None:
        book = CheckBook(plan)
        book.preload(list(plan))  # a malformed check file stops the run before it connects
    # So do statements the run could not carry out as reported (COMMIT in a transactional
    # migration, CREATE INDEX CONCURRENTLY in one, RESET ALL): the rules `dbkit lint` applies.
    warnings = sqlrules.refuse(plan.migrations, book.cache)
    book.save()
    threshold = (
        options.perf_threshold if options.perf_threshold is not None else settings.perf_threshold
    )
    if threshold < 0:
        raise UsageError(f"the performance threshold must be 0 or more, not {threshold}")
    with _session(settings, reporter) as conn:
        if options.dry_run:
            conn.execute("BEGIN")
        try:
            upgraded = registry.ensure_registry(conn)
            if upgraded and reporter is not None:
                reporter.note(
                    f"upgraded the dbkit registry to version {upgraded[-1]} "
                    f"(scripts {', '.join(f'{v:04d}' for v in upgraded)}); history kept"
                )
            state = registry.read_state(conn)
            _check_checksums(plan, state)
            position = _position(plan, state)
            chosen = choose(position)
            steps = steps_up(chosen) if command == "migrate" else steps_down(chosen)
            if not options.dry_run:
                _guard(settings, options.confirm, command, _destructive(command, chosen, level))
            # A rollback first undoes the interrupted run of the next migration, if any (a
            # migrate simply runs it again: its statements are idempotent).
            interrupted = None
            if command == "rollback" and level == "schema" and not options.dry_run:
                following = plan.migrations[position + 1 : position + 2]
                started = {(i.revision, i.direction) for i in registry.read_in_progress(conn)}
                if following and (following[0].revision, "up") in started:
                    interrupted = following[0]
            moves = level == "schema" and bool(steps)
            result = RunResult(
                command=command,
                database=settings.display_url(),
                from_revision=state.current,
                to_revision=steps[-1].to_revision if moves else state.current,
                dry_run=options.dry_run,
                level=level,
            )
            if command == "migrate" and steps:
                from dbkit.engine.extensions import refuse_missing

                refuse_missing(
                    conn,
                    [step.migration for step in steps],
                    server=settings.display_url(),
                    hint=_extension_hint(settings),
                )
            if not steps and interrupted is None:
                result.message = f"nothing to do: the database is at {state.current or 'base'}"
            chosen_files = {s.migration.relpath(s.migration.sql_path(s.direction)) for s in steps}
            for warning in warnings:
                if warning.path in chosen_files:
                    text = f"{warning.location}: {warning.message} ({warning.hint})"
                    result.warnings.append(text)
                    if reporter is not None:
                        reporter.note(text)
            workflow = Workflow(
                conn,
                settings,
                plan,
                book,
                reporter,
                dry_run=options.dry_run,
                auto_rollback=options.auto_rollback,
                perf_threshold=threshold,
            )
            try:
                if interrupted is not None:
                    result.steps.append(workflow.runner.undo_interrupted(interrupted))
                if command == "migrate":
                    workflow.migrate(steps, result.steps)
                elif level == "schema":
                    workflow.rollback(steps, result.steps)
                else:
                    workflow.rollback_level(chosen, level, result.steps)
            except DbkitError as exc:
                exc.completed = result.steps
                exc.checks = workflow.check_results
                raise
            finally:
                result.checks = workflow.check_results
                result.guard = workflow.guard_results
                book.save()  # what the run parsed (a rollback's statements too)
        finally:
            if options.dry_run and not conn.closed:
                conn.execute("ROLLBACK")
    result.duration_ms = (time.perf_counter() - t0) * 1000
    if options.dry_run and steps:
        result.message = "dry run: everything above was rolled back; the database is unchanged"
        unknown = [s.name for s in result.steps if s.outcome == "unknown"]
        unknown += workflow.unknown
        if unknown:
            result.message += (
                f"; it could not know the outcome of {', '.join(unknown)}, which come after "
                f"{', '.join(workflow.runner.skipped)} (skipped: outside a transaction)"
            )
    return result


# -- read-only commands ---------------------------------------------------------------------


@_guarded
def status(settings: Settings) -> StatusResult:
    """Current revision and phase, pending migrations and edited applied ones (read-only).

    A forked plan (two branches each added migrations) is reported, not refused: its problems
    are in ``plan_problems`` and pending lists every migration the database lacks."""
    plan, problems = load_readable_plan(settings.project_dir, files_may_be_missing=True)
    with _session(settings, lock=False) as conn:
        state = registry.read_state(conn)
        started = registry.read_in_progress(conn)
        running = database.lock_holder(conn) if started else None
        notice = state.registry_note  # an older registry: the next write upgrades it
        if notice is None and state.current is None and not state.recorded_checksums:
            from dbkit.engine.adopt import untracked_schema  # only for an untracked database

            notice = untracked_schema(conn)
    _position(plan, state)  # an unknown recorded revision is an error, as for migrate
    applied = plan.ancestors(state.current, state.recorded_checksums.get(state.current or ""))
    names = {m.name for m in applied}
    changed = [
        m
        for m in applied
        if m.revision in state.recorded_checksums
        and state.recorded_checksums[m.revision] != m.checksum
    ]
    return StatusResult(
        database=settings.display_url(),
        current_revision=state.current,
        current_phase=applied[-1].phase if applied else None,
        head=None if plan.forked else plan.head,
        applied=len(applied),
        pending=[MigrationInfo.of(m) for m in plan.migrations if m.name not in names],
        changed=[MigrationInfo.of(m) for m in changed],
        unrecorded=[
            MigrationInfo.of(m) for m in applied if m.revision not in state.recorded_checksums
        ],
        heads=plan.heads,
        plan_problems=[str(p.error()) for p in problems],
        notice=notice,
        interrupted=[_interrupted(plan, run, state.current, running) for run in started],
        left_applied=[
            {
                "revision": m.revision,
                "name": m.name,
                "message": state.left_applied[m.revision],
                "undo": f"dbkit rollback --to {m.down_revision or 'base'}",
            }
            for m in applied
            if m.revision in state.left_applied
        ],
    )


def _interrupted(plan: Plan, run, current: str | None, running: str | None) -> dict[str, Any]:
    """What ``status`` says about a non-transactional run recorded as started, not finished."""
    try:
        migration = plan.get(run.revision)
        name, down = migration.name, migration.down_revision
    except DbkitError:
        name, down = run.revision, None
    progress = f"{run.statements_done} of {run.statements_total} statements"
    if running is not None:
        message = f"{name} is running now ({progress} done) in {running}"
    elif run.direction == "up":
        message = (
            f"{name} was interrupted after {progress}: `dbkit migrate` finishes it, "
            f"`dbkit rollback --to {current or 'base'}` undoes it"
        )
    else:
        message = (
            f"the rollback of {name} was interrupted after {progress}: "
            f"`dbkit rollback --to {down or 'base'}` finishes it"
        )
    return {**run.to_dict(), "name": name, "running": running is not None, "message": message}


@_guarded
def history(settings: Settings, *, limit: int | None = None) -> list[registry.HistoryRow]:
    """The history rows, oldest first (the last ``limit`` rows if given)."""
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be 1 or more, not {limit}")
    with _session(settings, lock=False) as conn:
        return registry.read_history(conn, limit)


# -- registry-only commands -----------------------------------------------------------------


@_guarded
def baseline(
    settings: Settings, revision: str, *, force: bool = False, confirm: Confirm | None = None
) -> RegistryChange:
    """Adopt a database that already holds the schema up to ``revision``: no SQL is run.

    The live schema is first compared with what the migrations up to ``revision`` build (the
    ``dbkit drift`` comparison, in a throwaway database); a difference is refused (exit 4)
    unless ``force``.
    """
    plan = load_plan(settings.project_dir)
    target = plan.resolve(revision)
    if target is None:
        raise UsageError("baseline needs a revision, not base")
    with _session(settings) as conn:
        return _baseline(settings, conn, plan, plan.position(target), force=force, confirm=confirm)


def _baseline(
    settings: Settings,
    conn: psycopg.Connection,
    plan: Plan,
    position: int,
    *,
    force: bool,
    command: str = "baseline",
    source: str | None = None,
    ignore_tables: tuple[str, ...] = (),
    ignore_schemas: tuple[str, ...] = (),
    notes: list[str] | None = None,
    confirm: Confirm | None = None,
) -> RegistryChange:
    from dbkit.compare.baseline import compare_with_plan
    from dbkit.engine.adopt import SchemaMismatch, found_histories
    from dbkit.plan.registry_sql import version_statement

    state = registry.read_state(conn)
    if state.current is not None:
        raise UsageError(
            f"the database is already at revision {state.current}; {command} only adopts "
            "a database with no recorded revision"
        )
    adopted = list(plan.migrations[: position + 1])
    target = adopted[-1].revision if adopted else None
    checked = False
    if not force:
        # other tools' bookkeeping is not schema, whether or not we adopt from it
        for tool, table in found_histories(conn):
            if tool == "sqitch":
                ignore_schemas = (*ignore_schemas, "sqitch")
            else:
                ignore_tables = (*ignore_tables, table)
        differences = compare_with_plan(
            conn, settings, adopted, ignore_tables=ignore_tables, ignore_schemas=ignore_schemas
        )
        if differences:
            at = f"revision {target}" if target else "base"
            raise SchemaMismatch(
                f"the live schema differs from what the migrations build at {at} "
                f"({len(differences)} difference(s): "
                f"{'; '.join(str(d) for d in differences[:3])}"
                f"{'; ...' if len(differences) > 3 else ''}); nothing was recorded",
                hint="`dbkit drift` after a --force baseline lists them all; baseline at the "
                "right revision, or pass --force to record it anyway",
            )
        checked = True
    if not adopted:
        raise UsageError(
            f"nothing to {command}: the history holds no applied migration",
            hint="`dbkit migrate` applies the plan from base",
        )
    _guard(
        settings,
        confirm,
        command,
        [
            f"record {len(adopted)} migrations up to {adopted[-1].name} as applied, without "
            "running their SQL" + ("" if checked else " (schema NOT checked: --force)")
        ],
    )
    origin = f"adopted from {source}" if source else f"adopted by baseline {target}"
    with conn.transaction():
        registry.ensure_registry(conn)
        statement, params = version_statement(None, target, registry.version_schema(conn))
        conn.execute(statement, params)
        for migration in adopted:
            registry.record(
                conn,
                migration,
                direction="baseline",
                message=f"{origin}; SQL not run"
                + ("" if checked else "; schema check skipped (--force)"),
            )
    check = "the schema matched" if checked else "schema NOT checked (--force)"
    return RegistryChange(
        command=command,
        database=settings.display_url(),
        revisions=[m.revision for m in adopted],
        current_revision=target,
        message=f"database adopted at revision {target}: "
        f"{plural(len(adopted), 'migration')} marked as applied, no SQL run; {check}"
        + "".join(f"; {note}" for note in notes or []),
    )


@_guarded
def repair(settings: Settings, *, confirm: Confirm | None = None) -> RegistryChange:
    """Accept the current files of edited (or unrecorded) applied migrations, and migrations
    left applied after failing their checks (``--no-auto-rollback``), on purpose."""
    plan = load_plan(settings.project_dir)
    with _session(settings) as conn:
        registry.ensure_registry(conn)
        state = registry.read_state(conn)
        applied = _applied(plan, state)
        to_fix = [
            m
            for m in applied
            if state.recorded_checksums.get(m.revision) != m.checksum
            or m.revision in state.left_applied
        ]

        def accepted(m: Migration) -> str:
            old = state.recorded_checksums.get(m.revision)
            if old == m.checksum:
                return "left applied after failing its checks: accepted as applied"
            return f"checksum accepted (was {old[:12] if old else 'unrecorded'})"

        _guard(
            settings,
            confirm,
            "repair",
            [
                f"accept the current files of {m.name} as applied (new checksum)"
                if state.recorded_checksums.get(m.revision) != m.checksum
                else f"accept {m.name} as applied although it failed its checks"
                for m in to_fix
            ],
        )
        with conn.transaction():
            for migration in to_fix:
                registry.record(conn, migration, direction="repair", message=accepted(migration))
    message = (
        f"accepted the current files of {plural(len(to_fix), 'applied migration')}"
        if to_fix
        else "nothing to repair: every applied migration matches its files and none is left "
        "applied after failing its checks"
    )
    return RegistryChange(
        command="repair",
        database=settings.display_url(),
        revisions=[m.revision for m in to_fix],
        current_revision=state.current,
        message=message,
    )


# -- validate -------------------------------------------------------------------------------


@dataclass
class ValidateResult:
    """Outcome of ``dbkit validate``: every check that ran, read-only."""

    database: str
    current_revision: str | None
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.VALIDATION_FAILED if self.failed else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "current_revision": self.current_revision,
            "checks": [c.to_dict() for c in self.checks],
        }


@_guarded
def validate(
    settings: Settings,
    *,
    phase: str | None = None,
    pre: bool = False,
    post: bool = False,
    deep: bool = False,
    reporter: Reporter | None = None,
    plan: Plan | None = None,
    check_book: CheckBook | None = None,
) -> ValidateResult:
    """Run checks on their own, in a read-only transaction that is rolled back.

    Without ``phase``: the pre-checks of the next pending unit (the next migration, and its
    phase's pre-checks if it starts one) and the post-checks of the current state (the current
    migration, and its phase's post-checks if it ends one). With ``phase``: that phase's
    pre-checks and its first migration's, and the post-checks of its applied migrations (and
    of the phase once it is complete). ``pre``/``post`` restrict to one side; neither means
    both. ``deep`` adds one orphan anti-join per foreign key, generated from the catalog
    (:mod:`dbkit.engine.orphans`): each scans its whole child table.
    """
    from dbkit.engine import orphans
    from dbkit.engine.runner import Runner
    from dbkit.plan.checks import CheckBook

    if pre and post:
        pre = post = False
    want_pre, want_post = (pre or not post), (post or not pre)
    plan = load_plan(settings.project_dir) if plan is None else plan
    book = check_book
    if book is None:
        book = CheckBook(plan)
        book.preload(list(plan))
    if phase is not None:
        plan.phase_span(phase)  # unknown phase: a usage error before connecting
    with _session(settings, reporter, lock=False) as conn:
        state = registry.read_state(conn)
        position = _position(plan, state)
        selected = _select_checks(plan, book, position, phase, want_pre, want_post)
        runner = Runner(conn, settings, reporter)
        conn.execute("BEGIN READ ONLY")
        try:
            for checks, when in selected:
                runner.run_checks(checks, when)
            if deep:
                runner.run_checks(orphans.foreign_key_checks(conn), orphans.WHEN)
        finally:
            conn.execute("ROLLBACK")
    return ValidateResult(settings.display_url(), state.current, runner.check_results)


def _select_checks(plan, book, position, phase, want_pre, want_post):
    selected = []
    migrations = plan.migrations
    if phase is None:
        if want_pre and position + 1 < len(migrations):
            upcoming = migrations[position + 1]
            if plan.phase_span(upcoming.phase)[0] == position + 1:
                selected.append(
                    (
                        book.phase_file(upcoming.phase, "pre").checks,
                        f"pre-check of phase {upcoming.phase}",
                    )
                )
            selected.append(
                (book.file(upcoming.pre_check_path).checks, f"pre-check of {upcoming.name}")
            )
        if want_post and position >= 0:
            current = migrations[position]
            selected.append(
                (book.file(current.post_check_path).checks, f"post-check of {current.name}")
            )
            if plan.phase_span(current.phase)[1] == position:
                selected.append(
                    (
                        book.phase_file(current.phase, "post").checks,
                        f"post-check of phase {current.phase}",
                    )
                )
        return [(list(checks), when) for checks, when in selected]
    first, last = plan.phase_span(phase)
    if want_pre:
        selected.append((book.phase_file(phase, "pre").checks, f"pre-check of phase {phase}"))
        selected.append(
            (
                book.file(migrations[first].pre_check_path).checks,
                f"pre-check of {migrations[first].name}",
            )
        )
    if want_post:
        for index in range(first, min(last, position) + 1):
            migration = migrations[index]
            selected.append(
                (book.file(migration.post_check_path).checks, f"post-check of {migration.name}")
            )
        if position >= last:
            selected.append((book.phase_file(phase, "post").checks, f"post-check of phase {phase}"))
    return [(list(checks), when) for checks, when in selected]


# -- moving from another tool (import, adopt, info) ----------------------------------------


def import_migrations(
    tool: str, source_dir: Path | str, project_dir: Path | str, *, phase: str = "imported"
):
    """Write another tool's migration directory as a dbkit project (files only, no database).

    Returns a :class:`dbkit.plan.importers.ImportResult`; see docs/import.md.
    """
    from dbkit.plan.importers import import_project

    return import_project(tool, source_dir, project_dir, phase=phase)


@_guarded
def adopt(
    settings: Settings,
    *,
    history_table: str | None = None,
    force: bool = False,
    confirm: Confirm | None = None,
) -> RegistryChange:
    """Baseline a database another tool migrated, at the revision its history ends at.

    The project must come from ``dbkit import`` (its revisions carry ``source_version``). The
    tool's history table is read (``history_table`` overrides its default name); a history
    with failed rows, gaps or versions the project lacks is refused, then the baseline runs
    as :func:`baseline` does, schema check included.
    """
    from dbkit.engine import adopt as adopting
    from dbkit.plan.importers import source_versions

    plan = load_plan(settings.project_dir)
    mapping = source_versions(settings.project_dir)
    tools = sorted({tool for tool, _ in mapping.values()})
    if not tools:
        raise UsageError(
            f"{settings.project_dir}: no imported revisions (no `source_version = ...` in "
            "migrations/versions/)",
            hint="`dbkit import --from FORMAT DIR` writes them; for a dbkit-made schema use "
            "`dbkit baseline REV`",
        )
    if len(tools) > 1:
        raise UsageError(f"the project's revisions were imported from several tools: {tools}")
    tool = tools[0]
    with _session(settings) as conn:
        history = adopting.read_history(conn, tool, history_table)
        position = adopting.match(plan, mapping, history)
        ignore_schemas = ("sqitch",) if tool == "sqitch" else ()
        return _baseline(
            settings,
            conn,
            plan,
            position,
            force=force,
            command="adopt",
            source=f"{tool} history ({history.table})",
            ignore_tables=(adopting.qualified(conn, history.table),) if tool != "sqitch" else (),
            ignore_schemas=ignore_schemas,
            notes=history.notes,
            confirm=confirm,
        )


@_guarded
def info(settings: Settings):
    """Every migration of the plan with its state, in order, then those out of plan (read-only).

    Returns a :class:`dbkit.engine.info.InfoResult`; a forked plan is reported, not refused.
    """
    from dbkit.engine.info import InfoResult, migration_states
    from dbkit.plan.importers import source_versions

    plan, problems = load_readable_plan(settings.project_dir, files_may_be_missing=True)
    with _session(settings, lock=False) as conn:
        state = registry.read_state(conn)
        rows = registry.read_history(conn)
    migrations, note = migration_states(plan, state, rows, source_versions(settings.project_dir))
    result = InfoResult(
        database=settings.display_url(),
        current_revision=state.current,
        migrations=migrations,
        plan_problems=[str(p.error()) for p in problems] + ([note] if note else []),
    )
    return result


# -- rebase ----------------------------------------------------------------------------------


@dataclass
class RebaseResult:
    """Outcome of ``dbkit rebase``: the migrations moved (or that would move)."""

    project: str
    dry_run: bool
    moves: list = field(default_factory=list)  # dbkit.plan.rebase.Move
    onto: str | None = None  # the revision the moved branch now follows
    consulted: list[str] = field(default_factory=list)  # databases checked (masked)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "dry_run": self.dry_run,
            "onto": self.onto,
            "consulted": self.consulted,
            "moves": [m.to_dict() for m in self.moves],
            "message": self.message,
        }


def rebase(
    settings: Settings,
    *,
    move: tuple[str, ...] | list[str] = (),
    onto: str | None = None,
    applied_in: tuple[Settings, ...] | list[Settings] = (),
    dry_run: bool = False,
) -> RebaseResult:
    """Put one branch of a forked plan on top of the other (see :mod:`dbkit.plan.rebase`).

    The branch that moves is, in order of precedence: the migrations named in ``move`` (and
    their descendants), the migrations whose revision file the git ref ``onto`` lacks, or the
    branch that none of the ``applied_in`` databases has applied. Whatever decides it, a
    migration applied in one of ``applied_in`` never moves.
    """
    from dbkit.plan import rebase as rebasing

    project = settings.project_dir
    plan, _ = load_readable_plan(project)
    result = RebaseResult(str(project), dry_run)
    if not plan.forked:
        result.message = "nothing to rebase: the plan is one chain"
        return result
    applied: dict[str, set[str]] = {}  # database -> names of the migrations it has applied
    for target in applied_in:
        label = target.display_url()
        with _session(target, lock=False) as conn:
            state = registry.read_state(conn)
        try:
            chain = plan.ancestors(state.current, state.recorded_checksums.get(state.current or ""))
        except DbkitError:
            raise UsageError(
                f"{label} is at revision {state.current}, which this project does not have",
                hint="is this the right project and database?",
            ) from None
        applied[label] = {m.name for m in chain}
        result.consulted.append(label)

    if move:
        moving = _named(plan, move)
    elif onto is not None:
        from dbkit.plan.gitref import files_at

        present = files_at(project, onto)
        moving = [m for m in plan.migrations if m.relpath(m.revision_path) not in present]
        if not moving:
            raise UsageError(f"every migration is already in {onto!r}: there is nothing to move")
    elif applied_in:
        sides = rebasing.branches(plan).sides
        free = [
            side for side in sides if not any(m.name in a for a in applied.values() for m in side)
        ]
        where = ", ".join(result.consulted)
        if not free:
            raise UsageError(
                f"both branches are applied in {where}: neither can move",
                hint="roll one branch back where it ran, then rebase it",
            )
        if len(free) > 1:
            raise UsageError(
                f"neither branch is applied in {where}, so dbkit cannot tell which one moves",
                hint="name the migrations that move with --move",
            )
        moving = free[0]
    else:
        raise UsageError(
            "say which migrations move: --move REV, --onto GIT_REF (the migrations it lacks "
            "move) or --applied-in ENV|URL (the branch no such database has applied moves)"
        )
    for label, names in applied.items():
        clash = [m.name for m in moving if m.name in names]
        if clash:
            raise UsageError(
                f"{clash[0]} is applied in {label}: an applied migration never moves "
                "(its id and checksum are recorded there)",
                hint="move the other branch instead",
            )
    moves, staying = rebasing.plan_moves(project, moving, settings.ids)
    result.moves = moves
    result.onto = moves[0].new_parent if moves else None
    if not dry_run:
        rebasing.apply_moves(project, moves)
    verb = "would move" if dry_run else "moved"
    result.message = (
        f"{verb} {len(moves)} migration{'s' if len(moves) != 1 else ''} on top of "
        f"{result.onto}; the plan is one chain again"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    return result


def _named(plan: Plan, names: tuple[str, ...] | list[str]) -> list[Migration]:
    """The migrations ``names`` designate (a file name, its unique prefix, or a revision id
    only one file uses), with their descendants, in plan order."""
    chosen: set[str] = set()
    for name in names:
        matches = [m for m in plan.migrations if m.name == name]
        if not matches:
            matches = [m for m in plan.migrations if m.revision == name]
        if not matches:
            matches = [m for m in plan.migrations if m.name.startswith(name)]
        if len(matches) != 1:
            raise RevisionNotFound(
                f"{'no' if not matches else 'several'} migration{'s' if matches else ''} "
                f"match {name!r}" + (f": {', '.join(m.name for m in matches)}" if matches else ""),
                hint="name the file, e.g. 0003_add_index",
            )
        chosen.add(matches[0].name)
    counts: dict[str, int] = {}
    for migration in plan.migrations:
        counts[migration.revision] = counts.get(migration.revision, 0) + 1
    grew = True
    while grew:
        grew = False
        revisions = {m.revision for m in plan.migrations if m.name in chosen}
        for migration in plan.migrations:
            parent = migration.down_revision
            if (
                migration.name not in chosen
                and parent in revisions
                and counts.get(parent or "", 0) == 1
            ):
                chosen.add(migration.name)
                grew = True
    return [m for m in plan.migrations if m.name in chosen]


# -- lint ------------------------------------------------------------------------------------


def lint(
    project_dir: Path | str,
    *,
    fix: bool = False,
    sources: tuple[str, ...] | list[str] = (),
    changed: bool = False,
    base: str = "main",
    applied_in: Settings | None = None,
    explain_in: Settings | None = None,
    explain_skipped: str = "",
):
    """``dbkit lint``: :func:`dbkit.lint.rules.lint_project` with git and applied migrations.

    ``changed`` lints only the migrations whose files are new or changed since the git ref
    ``base`` (committed, staged, unstaged or untracked). ``fix`` never rewrites the sql/ and
    rollbacks/ files of an applied migration; applied means: its files are already in
    ``base`` (merged, so it may have run anywhere), or it is applied in the database
    ``applied_in`` (given with --url/--env). Outside a git work tree and without a database
    dbkit cannot tell, so ``fix`` is refused rather than risking a checksum everywhere.
    ``explain_in`` (a database) adds rule ``dbkit/check-scans-big-table``: every check and key
    query is EXPLAINed there (:func:`big_table_scans`); without one, ``explain_skipped`` says
    why in the report. Returns the :class:`~dbkit.lint.rules.LintReport`.
    """
    from dbkit.lint.rules import SOURCES, lint_project
    from dbkit.plan import gitref

    project = Path(project_dir)
    only_files = sorted(gitref.changed_since(project, base)) if changed else None
    protect: set[str] = set()
    because: list[str] = []
    if fix:
        if gitref.is_work_tree(project):
            for path in gitref.files_at(project, base):
                if path.startswith((f"{SQL_DIR}/", f"{ROLLBACK_DIR}/")):
                    protect.add(Path(path).name.split(".", 1)[0])
            because.append(f"git ref {base}")
        if applied_in is not None:
            plan = load_plan(project)
            with _session(applied_in, lock=False) as conn:
                state = registry.read_state(conn)
            protect.update(m.name for m in _applied(plan, state))
            because.append(applied_in.display_url())
        if not because:
            raise UsageError(
                "lint --fix cannot tell which migrations are applied here, and rewriting an "
                "applied one changes its checksum everywhere it ran",
                hint="run it in a git work tree (the migrations in --base REF count as applied) "
                "or name the database with --url or --env",
            )
    report = lint_project(
        project, fix=fix, sources=sources or SOURCES, only_files=only_files, protect=protect
    )
    report.protected_because = because
    report.changed_since = base if changed else None
    checks = _project_checks(project) if "dbkit" in (sources or SOURCES) else []
    if checks:  # else there is nothing to EXPLAIN, and nothing to say
        if explain_in is not None:
            big_table_scans(report, explain_in, checks)
        else:
            report.big_table_scans = {"database": None, "skipped": explain_skipped}
    return report


def _project_checks(project: Path) -> list:
    """Every check and key query of the project's check files (parsed once, cached by
    content); a file that does not parse is left to rule dbkit/validation-parse."""
    from dbkit.errors import PlanError
    from dbkit.plan.checks import check_cache, parse_check_file

    cache = check_cache(project)
    checks = []
    for path in sorted((project / VALIDATION_DIR).rglob("*.sql")):
        try:
            checks += parse_check_file(path, cache).checks
        except PlanError:
            continue
    cache.save()
    return checks


def big_table_scans(report, settings: Settings, checks: list | None = None) -> None:
    """EXPLAIN every check and key query of the project on the database of ``settings`` and
    add a ``dbkit/check-scans-big-table`` warning to ``report`` (a LintReport) for each plan
    node that reads all of a relation with ``settings.big_table_rows`` rows or more. A
    database that cannot be reached is a one-line skip, not an error: lint works offline."""
    from dbkit.engine import explain
    from dbkit.errors import ConnectionFailed
    from dbkit.lint.findings import Finding

    project = report.project_dir
    if checks is None:
        checks = _project_checks(project)
    threshold = settings.big_table_rows
    where = settings.display_url()
    try:
        with _session(settings, lock=False) as conn:
            found = explain.big_scans(conn, checks, threshold)
    except ConnectionFailed as exc:
        report.big_table_scans = {"database": where, "skipped": f"cannot connect: {exc.message}"}
        return
    report.big_table_scans = {
        "database": where,
        "skipped": None,
        "threshold": threshold,
        "explained": found.explained,
        "not_planned": len(found.not_planned),
    }
    for scan in found.scans:
        check = scan.check
        what = "key query" if check.kind == "key-query" else "check"
        report.findings.append(
            Finding(
                str(check.path.relative_to(project)),
                check.line,
                "dbkit/check-scans-big-table",
                f"{what} {check.name} would read all of {scan.relation} (about "
                f"{scan.rows:,} rows; {scan.node}; big_table_rows = {threshold:,}): make it "
                "index-driven, or add the index the application needs in a migration",
                severity="warning",
            )
        )
    report.findings.sort(key=Finding.sort_key)


# -- synth ----------------------------------------------------------------------------------


@dataclass
class SynthResult:
    """Outcome of ``dbkit synth``: rows loaded per table, or what ``--cleanup`` removed."""

    database: str
    seed: int | None
    profiles: list[str]
    tables: list[Any] = field(default_factory=list)  # dbkit.synth.loader.TableLoad
    expires_at: str | None = None
    duration_ms: float = 0.0
    cleanup: bool = False
    removed: int = 0
    removed_by_table: dict[str, int] = field(default_factory=dict)
    analyze_ms: float = 0.0  # of duration_ms: the ANALYZE after the commit (all sessions)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def rows_per_second(self) -> float:
        return self.rows / (self.duration_ms / 1000) if self.duration_ms else 0.0

    def to_dict(self) -> dict[str, Any]:
        if self.cleanup:
            return {
                "database": self.database,
                "cleanup": True,
                "removed": self.removed,
                "removed_by_table": self.removed_by_table,
                "duration_ms": round(self.duration_ms, 1),
            }
        return {
            "database": self.database,
            "seed": self.seed,
            "profiles": self.profiles,
            "expires_at": self.expires_at,
            "rows": self.rows,
            "duration_ms": round(self.duration_ms, 1),
            "rows_per_second": round(self.rows_per_second),
            "analyze_ms": round(self.analyze_ms, 1),
            "tables": [t.to_dict() for t in self.tables],
        }


@_guarded
def synth(
    settings: Settings,
    *,
    profiles: list[str] | None = None,
    scale: int | None = None,
    rows: dict[str, int] | None = None,
    seed: int = 0,
    ttl: str = "7d",
    cleanup: bool = False,
    progress: Any = None,
    bulk: bool | None = None,
    analyze: bool = True,
) -> SynthResult:
    """Fill the migrated database with synthetic rows (or, with ``cleanup``, remove expired ones).

    Generators come from the catalog (types, NOT NULL, CHECK ranges, enums, unique and foreign
    keys) and the project's profiles (``synth/profiles/NAME.toml``; default: all of them). The
    database must be at the plan's head. The load is one transaction: on any error nothing is
    written. Same ``seed``, same rows (``expires_at = now() + ttl`` aside). ``bulk``: None
    loads a large table without its secondary indexes and foreign keys and rebuilds them after
    (decided per table, :mod:`dbkit.synth.bulk`), True does it for every table, False never.
    ``analyze``: after the commit, ``ANALYZE`` the loaded tables over two sessions (False
    leaves their statistics to autovacuum).
    """
    from dbkit.synth import catalog as synth_catalog
    from dbkit.synth import loader
    from dbkit.synth import profiles as synth_profiles

    t0 = time.perf_counter()
    lifetime = loader.parse_ttl(ttl)
    if cleanup and (profiles or scale is not None or rows):
        raise UsageError(
            "--cleanup removes expired synthetic rows; it takes no --profile, --scale or --rows"
        )
    plan = load_plan(settings.project_dir)
    loaded = [] if cleanup else None
    chosen = synth_profiles.load(settings.project_dir, profiles) if not cleanup else None
    with _session(settings) as conn:
        state = registry.read_state(conn)
        position = _position(plan, state)
        if position != len(plan.migrations) - 1:
            raise DatabaseStateError(
                f"the database is at {state.current or 'base'}, not at the head "
                f"{plan.head}: dbkit synth fills a fully migrated database",
                hint="run `dbkit migrate` first",
            )
        tables = synth_catalog.read_tables(conn)
        if cleanup:
            outcome = loader.cleanup(conn, tables)
            return SynthResult(
                settings.display_url(),
                None,
                [],
                cleanup=True,
                removed=outcome.removed,
                removed_by_table=outcome.by_table,
                duration_ms=(time.perf_counter() - t0) * 1000,
            )
        loaded = loader.run(
            conn,
            tables,
            chosen,
            scale=scale,
            rows=rows or {},
            seed=seed,
            ttl=lifetime,
            progress=progress,
            bulk=bulk,
        )
        t_analyze = time.perf_counter()
        if analyze and loaded:
            _synth_analyze(settings, conn, loaded)
        analyze_ms = (time.perf_counter() - t_analyze) * 1000
    from datetime import datetime

    return SynthResult(
        settings.display_url(),
        seed,
        chosen.names,
        loaded,
        expires_at=(datetime.now(UTC) + lifetime).isoformat(timespec="seconds"),
        duration_ms=(time.perf_counter() - t0) * 1000,
        analyze_ms=analyze_ms,
    )


def _synth_analyze(settings: Settings, conn: Any, loaded: list[Any]) -> None:
    """``ANALYZE`` what ``dbkit synth`` committed, on ``conn`` and a second session (both
    cores) when one can be opened; an error or interrupt here says the rows are kept."""
    import contextlib

    import psycopg

    from dbkit.errors import ConnectionFailed
    from dbkit.synth import loader

    rows = sum(t.rows for t in loaded)
    conns = [conn]
    try:
        if len(loaded) > 1:
            with contextlib.suppress(ConnectionFailed):
                conns.append(database.connect(settings.database_url(), settings))
        loader.analyze(conns, loaded)
    except KeyboardInterrupt as exc:
        raise interrupts.interrupted(
            exc,
            "dbkit synth's ANALYZE",
            f"the {rows} rows loaded were committed; autovacuum will gather the statistics",
        ) from None
    except psycopg.Error as exc:
        raise DbkitError(
            f"the {rows} rows loaded were committed, but ANALYZE failed: {one_line(str(exc))}",
            hint="run ANALYZE yourself, or leave it to autovacuum",
        ) from None
    finally:
        for extra in conns[1:]:
            extra.close()


# -- fleets ---------------------------------------------------------------------------------
# One plan over many databases (docs/fleet.md). Each target runs the single-database function
# above with its own Settings; see dbkit.fleet.run for the probe, outcomes and exit codes.


@_guarded
def fleet_migrate(settings: Settings, selection, limits, **options) -> Any:
    """``migrate`` on every selected target of the fleet file (options as for migrate)."""
    from dbkit.fleet import commands

    return commands.migrate(settings, selection, limits, **options)


@_guarded
def fleet_rollback(settings: Settings, selection, limits, **options) -> Any:
    """``rollback`` on every selected target of the fleet file (options as for rollback)."""
    from dbkit.fleet import commands

    return commands.rollback(settings, selection, limits, **options)


@_guarded
def fleet_status(settings: Settings, selection, limits, **options) -> Any:
    """Where every selected target stands: revision, pending count, edits, failures."""
    from dbkit.fleet import commands

    return commands.status(settings, selection, limits, **options)


@_guarded
def fleet_validate(settings: Settings, selection, limits, **options) -> Any:
    """``validate`` on every selected target (read-only)."""
    from dbkit.fleet import commands

    return commands.validate(settings, selection, limits, **options)


@_guarded
def fleet_drift(settings: Settings, selection, limits, **options) -> Any:
    """``drift`` on every selected target (read-only on the targets)."""
    from dbkit.fleet import commands

    return commands.drift(settings, selection, limits, **options)


# -- project files (offline) -----------------------------------------------------------------


@dataclass
class FilesCreated:
    """Outcome of ``init`` and ``new``: the files written, in order."""

    command: str
    project_dir: Path
    paths: list[Path]

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_dir": str(self.project_dir),
            "created": [str(p) for p in self.paths],
        }


def init(directory: Path | str, *, ids: str = "sequential") -> FilesCreated:
    """Create a new dbkit project in ``directory`` (migrations/, sql/, rollbacks/, ...);
    ``ids`` is how ``dbkit new`` numbers its migrations (``sequential`` or ``timestamp``)."""
    from dbkit.plan.scaffold import init_project

    directory = Path(directory)
    return FilesCreated("init", directory, init_project(directory, ids=ids))


def new(
    settings: Settings, name: str, *, phase: str, non_transactional: bool = False
) -> FilesCreated:
    """Write the files of a new migration ``name`` at the head of the chain."""
    from dbkit.plan.scaffold import new_migration

    project = settings.project_dir
    paths = new_migration(project, name, phase, non_transactional=non_transactional)
    return FilesCreated("new", project, list(paths))


@dataclass
class SqlScript:
    """Outcome of ``sql``: the script a migrate (up) or rollback (down) would run."""

    direction: str
    from_revision: str | None
    to_revision: str | None
    script: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def sql(
    settings: Settings,
    direction: str = "up",
    *,
    from_revision: str | None = None,
    to_revision: str | None = None,
) -> SqlScript:
    """The exact SQL script a migrate (``up``) or rollback (``down``) would run, offline."""
    from dbkit.plan.graph import load_plan
    from dbkit.plan.render import render_script

    script = render_script(
        load_plan(settings.project_dir),
        direction,
        from_revision,
        to_revision,
        lock_timeout=settings.lock_timeout,
        statement_timeout=settings.statement_timeout,
        version_schema=settings.offline_version_schema,
    )
    return SqlScript(direction, from_revision, to_revision, script)


def show(settings: Settings, revision: str) -> RevisionView:
    """One migration in one view: its place, phase, options, SQL pair and checks (offline)."""
    from dbkit.plan.show import show as show_revision

    return show_revision(settings.project_dir, revision)


# -- the CI gate ---------------------------------------------------------------------------------


@_guarded
def verify(
    settings: Settings,
    *,
    server_url: str | None = None,
    progress: Callable[[MigrationVerdict], None] | None = None,
    keep_going: bool = False,
    accept: tuple[str, ...] = (),
) -> VerifyResult:
    """Prove in a throwaway database that every rollback restores the schema.

    ``server_url`` is the server to create it on (default: the project's embedded server);
    ``settings.url``, the database ``migrate`` targets, is never used.
    """
    from dbkit.compare.verify import verify as run_verify
    from dbkit.settings import normalize_url

    if server_url:
        server_url = normalize_url(server_url, "--url")
    elif settings.scratch_url == "embedded":
        server_url = None  # verify's own default
    else:
        server_url = settings.scratch_url
    return run_verify(
        settings,
        server_url=server_url or None,
        progress=progress,
        keep_going=keep_going,
        accept=accept,
    )


@_guarded
def drift(settings: Settings, *, scratch_url: str | None = None) -> DriftResult:
    """Compare the live schema with what its migrations build (``scratch_url``: where to
    replay them; ``embedded`` for the project's embedded server)."""
    from dbkit.compare.drift import EMBEDDED
    from dbkit.compare.drift import drift as run_drift
    from dbkit.settings import normalize_url

    if scratch_url and scratch_url != EMBEDDED:
        scratch_url = normalize_url(scratch_url, "--scratch-url")
    elif not scratch_url:
        scratch_url = settings.scratch_url
    return run_drift(settings, scratch_url=scratch_url)


# -- the embedded server -------------------------------------------------------------------------


@dataclass
class ServerChange:
    """Outcome of ``db start`` and ``db stop``."""

    command: str
    running: bool
    was_running: bool
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _project_dir(settings: Settings) -> Path:
    """The project directory, refused (like every command) when it is not a dbkit project."""
    from dbkit.plan.graph import VERSIONS_DIR

    project = settings.project_dir
    if not (project / VERSIONS_DIR).is_dir():
        raise ProjectError(
            f"{project}: not a dbkit project (no {VERSIONS_DIR}/ directory)",
            hint="run `dbkit init` to create one, or pass --project",
        )
    return project


def db_start(settings: Settings) -> ServerChange:
    """Start the project's embedded server (or reuse the running one)."""
    from dbkit.embedded import server as embedded

    project = _project_dir(settings)
    was_running = embedded.current_url(project) is not None
    url = embedded.ensure_running(project)
    return ServerChange("db start", running=True, was_running=was_running, url=url)


def db_stop(settings: Settings) -> ServerChange:
    """Stop the project's embedded server; its data stays under ``.dbkit/``."""
    from dbkit.embedded import server as embedded

    was_running = embedded.stop(_project_dir(settings))
    return ServerChange("db stop", running=False, was_running=was_running)


def db_status(settings: Settings) -> EmbeddedStatus:
    """Whether the project's embedded server runs, where its data is, and its URL."""
    from dbkit.embedded import server as embedded

    return embedded.status(_project_dir(settings))


def db_url(settings: Settings) -> str:
    """The URL of the project's running embedded server (EmbeddedServerError if stopped)."""
    from dbkit.embedded import server as embedded
    from dbkit.errors import EmbeddedServerError

    url = embedded.current_url(_project_dir(settings))
    if url is None:
        raise EmbeddedServerError(
            "the embedded server is not running", hint="start it with `dbkit db start`"
        )
    return url
