"""``dbkit fleet ...``: one plan over the databases and tenant schemas of a fleet file.

Each command parses its options and calls one ``dbkit.api.fleet_*`` function. Progress: a
live table on a terminal (rich), one line per finished target otherwise; ``--json`` prints one
JSON document at the end on stdout (the lines then go to stderr). SIGINT/SIGTERM: no target
is started any more and running ones stop after their current migration; a second signal
exits at once (the server rolls back the open transaction of every running migration).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

import click

from dbkit.cli.base import (
    Context,
    _emit_json,
    _style,
    auto_rollback_option,
    json_option,
    main,
    yes_option,
)

FLEET_EXIT_HELP = """\b
Exit codes: 0 when every target succeeded (or was already at the goal),
otherwise the most severe per-target code, in this order: 130/143
(interrupted by SIGINT/SIGTERM), 1 (failure: unreachable, wrong password,
unsupported server, unknown revision, same database twice, SQL error),
3 (checks failed), 4 (edited migrations, drift), 2 (usage: e.g. a target
past the --to revision), 5 (lock held by another run). A malformed fleet
file exits 2 before any connection is made.
"""

_COLORS = {
    "migrated": "green",
    "rolled back": "green",
    "up to date": "cyan",
    "checks passed": "green",
    "no drift": "green",
    "pending": "yellow",
    "dry run": "cyan",
    "not started": "yellow",
    "interrupted": "yellow",
}


class FleetContext:
    def __init__(self, base: Context, fleet_file, groups, names) -> None:
        self.base = base
        self.fleet_file = fleet_file
        self.groups = tuple(groups)
        self.names = tuple(names)
        self.traceback = base.traceback

    def selection(self):
        from dbkit.fleet.run import Selection

        return Selection(self.fleet_file, self.groups, self.names)


@main.group(epilog=FLEET_EXIT_HELP)
@click.option(
    "--fleet",
    "fleet_file",
    type=click.Path(dir_okay=False),
    help="The fleet file (default: fleet.toml in the project).",
)
@click.option(
    "--group",
    "-g",
    "groups",
    multiple=True,
    metavar="GROUP",
    help="Only targets of GROUP (repeatable: any of them).",
)
@click.option(
    "--target",
    "-t",
    "names",
    multiple=True,
    metavar="NAME",
    help="Only the target NAME (repeatable).",
)
@click.pass_context
def fleet(ctx: click.Context, fleet_file, groups, names) -> None:
    """One plan over many databases: the targets of a fleet file.

    The fleet file (fleet.toml, see docs/fleet.md) lists targets: URLs (with ${ENV}
    expansion), queries against a catalog database that return them, and for schema per tenant
    a schema per target (its search_path, its own alembic_version, its history in
    dbkit_<schema>). Each target runs exactly as the single-database command does, locked on
    its own; the fleet file is checked before anything is connected to.
    """
    ctx.obj = FleetContext(ctx.obj, fleet_file, groups, names)


def _limits_options(func):
    func = click.option(
        "--per-server",
        type=int,
        metavar="N",
        help="At most N connections to one server (host:port) at once (default: per_server "
        "in the fleet file, else 4).",
    )(func)
    func = click.option(
        "--jobs",
        "-j",
        type=int,
        metavar="N",
        help="Targets run at the same time (default: jobs in the fleet file, else per-server "
        "limit x servers, at most 16).",
    )(func)
    return func


def _run_options(func):
    func = click.option(
        "--max-failures",
        type=int,
        metavar="K",
        help="Stop starting targets after K have failed; running ones finish.",
    )(func)
    func = click.option(
        "--canary",
        metavar="GROUP",
        help="Run the targets of GROUP first; if any of them fails, start no other.",
    )(func)
    return _limits_options(func)


# -- progress ------------------------------------------------------------------------------


def _revision(run) -> str:
    if run.outcome in ("unreachable", "login failed", "unsupported", "not started"):
        return "?"
    if run.before != run.after:
        return f"{run.before or 'base'} -> {run.after or 'base'}"
    return run.after or "base"


def _line(run) -> str:
    color = _COLORS.get(run.outcome, "red" if run.failed else None)
    text = (
        f"{run.name:<24} {_revision(run):<16} {_style(run.outcome, fg=color):<14} "
        f"{run.seconds:6.2f}s"
    )
    if run.pending is not None and run.outcome in ("pending", "up to date", "edited"):
        text += f"  {run.pending} pending"
    if run.error:
        text += f"  {run.error}"
    return text


class _Lines:
    """One line per target as it finishes (not a terminal, or --json)."""

    def __init__(self, err: bool) -> None:
        self.err = err
        self._lock = threading.Lock()

    def started(self, runs) -> None:
        pass

    def updated(self, run) -> None:
        pass

    def finished(self, run) -> None:
        with self._lock:
            click.echo(_line(run), err=self.err)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


class _LiveTable:
    """A rich table redrawn a few times a second: target, revision, phase, state, time."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console()
        self.runs: list = []
        self.live = None

    def started(self, runs) -> None:
        from rich.live import Live

        self.runs = runs
        self.live = Live(
            get_renderable=self._table,
            console=self.console,
            refresh_per_second=4,
            transient=True,
        )
        self.live.start()

    def updated(self, run) -> None:
        pass

    def finished(self, run) -> None:
        pass

    def _rows(self):
        limit = max(5, self.console.size.height - 6)
        if len(self.runs) <= limit:
            return self.runs, 0
        shown = [r for r in self.runs if r.state == "running" or r.failed]
        return shown[:limit], len(self.runs) - len(shown[:limit])

    def _table(self):
        from rich.table import Table

        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("target", "revision", "phase", "state", "time"):
            table.add_column(column, justify="right" if column == "time" else "left")
        rows, hidden = self._rows()
        for run in rows:
            state = run.outcome if run.state == "done" else run.state
            color = _COLORS.get(state, "red" if run.failed else None)
            table.add_row(
                run.name,
                _revision(run) if run.state == "done" else (run.current or "base"),
                run.phase,
                f"[{color}]{state}[/]" if color else state,
                f"{run.seconds:.1f}s" if run.started else "",
            )
        if hidden:
            done = sum(1 for r in self.runs if r.state == "done")
            table.caption = f"{hidden} more targets not shown ({done}/{len(self.runs)} done)"
        return table

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.stop()
        for run in self.runs:  # the final state, one line each, stays on the screen
            click.echo(_line(run))


def _observer(as_json: bool):
    if not as_json and sys.stdout.isatty() and os.environ.get("TERM") != "dumb":
        return _LiveTable()
    return _Lines(err=as_json)


@contextlib.contextmanager
def _stopping():
    """SIGINT/SIGTERM set the stop event (noting the signal for the exit code, 130 or 143); a
    second one cancels what every dbkit connection runs and exits at once, as a single
    command does (:mod:`dbkit.engine.interrupts`)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum, frame) -> None:
        from dbkit.engine import interrupts

        if stop.is_set():
            interrupts._exit_now(signum)
        stop.signum = signum
        stop.set()
        click.echo(
            f"note: {signal.Signals(signum).name}: starting no more targets; running ones stop "
            "after their current migration (send it again to exit at once)",
            err=True,
        )

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(as_json: bool, call) -> None:
    t0 = time.perf_counter()
    observer = _observer(as_json)
    with _stopping() as stop, observer:
        result = call(observer, stop)
    if as_json:
        _emit_json(result.to_dict())
    else:
        took = (time.perf_counter() - t0) or result.duration_ms / 1000
        goal = f" (goal {result.goal or 'base'})" if result.goal is not None else ""
        click.echo(
            f"{result.command}: {len(result.runs)} targets in {took:.2f}s{goal}: {result.summary()}"
        )
        if result.stopped:
            click.echo(
                f"stopped: {result.stopped}; {len(result.not_started)} targets not started "
                "(run the same command again to continue)"
            )
    code = result.exit_code
    if code:
        click.get_current_context().exit(code)


# -- commands ------------------------------------------------------------------------------


@fleet.command("migrate", epilog=FLEET_EXIT_HELP)
@click.option("--to", "to", metavar="REV", help="Stop at this revision (default: head).")
@click.option("--phase", metavar="PHASE", help="Migrate up to the end of this phase.")
@click.option("--dry-run", is_flag=True, help="Each target runs and rolls back, as migrate does.")
@auto_rollback_option
@click.option("--perf-threshold", type=float, metavar="RATIO", help="As for dbkit migrate.")
@_run_options
@yes_option
@json_option
@click.pass_obj
def fleet_migrate(
    obj: FleetContext, to, phase, dry_run, auto_rollback, perf_threshold, jobs, per_server,
    canary, max_failures, yes, as_json,
) -> None:  # fmt: skip
    """Apply pending migrations on every target, as `dbkit migrate` does on each.

    Resumable: run it again and each target continues from where it stands; a target already
    at the goal is reported "up to date" after one short connection.
    """
    from dbkit import api
    from dbkit.fleet.run import Limits

    limits = Limits(jobs, per_server, canary, max_failures)
    _run(
        as_json,
        lambda observer, stop: api.fleet_migrate(
            obj.base.settings(),
            obj.selection(),
            limits,
            to=to,
            phase=phase,
            dry_run=dry_run,
            auto_rollback=auto_rollback,
            perf_threshold=perf_threshold,
            confirm=(lambda text: True) if yes else None,
            observer=observer,
            stop=stop,
        ),
    )


@fleet.command("rollback", epilog=FLEET_EXIT_HELP)
@click.option("--to", "to", metavar="REV", help="Roll back to this revision ('base' for all).")
@click.option("--phase", metavar="PHASE", help="Roll back to the state before this phase.")
@click.option("--steps", type=int, metavar="N", help="Roll back the last N migrations.")
@click.option(
    "--level",
    type=click.Choice(["schema", "data", "feature"]),
    default="schema",
    show_default=True,
    help="As for dbkit rollback.",
)
@click.option("--dry-run", is_flag=True, help="Each target runs and rolls back its rollbacks.")
@auto_rollback_option
@_run_options
@yes_option
@json_option
@click.pass_obj
def fleet_rollback(
    obj: FleetContext, to, phase, steps, level, dry_run, auto_rollback, jobs, per_server,
    canary, max_failures, yes, as_json,
) -> None:  # fmt: skip
    """Roll every target back, as `dbkit rollback` does on each; an explicit target is
    required."""
    from dbkit import api
    from dbkit.fleet.run import Limits

    limits = Limits(jobs, per_server, canary, max_failures)
    _run(
        as_json,
        lambda observer, stop: api.fleet_rollback(
            obj.base.settings(),
            obj.selection(),
            limits,
            to=to,
            phase=phase,
            steps=steps,
            level=level,
            dry_run=dry_run,
            auto_rollback=auto_rollback,
            confirm=(lambda text: True) if yes else None,
            observer=observer,
            stop=stop,
        ),
    )


@fleet.command("status", epilog=FLEET_EXIT_HELP)
@_limits_options
@json_option
@click.pass_obj
def fleet_status(obj: FleetContext, jobs, per_server, as_json) -> None:
    """Per target: revision, pending migrations, edited files, failed runs; and a summary.

    One connection per target, in parallel, read-only; the plan is read once. Exits 4 if a
    target has edited applied migrations, 1 if one could not be read.
    """
    from dbkit import api
    from dbkit.fleet.run import Limits

    limits = Limits(jobs, per_server)
    _run(
        as_json,
        lambda observer, stop: api.fleet_status(
            obj.base.settings(), obj.selection(), limits, observer=observer, stop=stop
        ),
    )


@fleet.command("validate", epilog=FLEET_EXIT_HELP)
@click.option("--phase", metavar="PHASE", help="Check this phase (as dbkit validate).")
@click.option("--pre", is_flag=True, help="Only pre-checks.")
@click.option("--post", is_flag=True, help="Only post-checks.")
@_limits_options
@json_option
@click.pass_obj
def fleet_validate(obj: FleetContext, phase, pre, post, jobs, per_server, as_json) -> None:
    """Run the checks on every target, read-only, as `dbkit validate` does (exit 3 on a
    failed check)."""
    from dbkit import api
    from dbkit.fleet.run import Limits

    limits = Limits(jobs, per_server)
    _run(
        as_json,
        lambda observer, stop: api.fleet_validate(
            obj.base.settings(),
            obj.selection(),
            limits,
            phase=phase,
            pre=pre,
            post=post,
            observer=observer,
            stop=stop,
        ),
    )


@fleet.command("drift", epilog=FLEET_EXIT_HELP)
@click.option(
    "--scratch-url",
    metavar="URL",
    help="Server for the throwaway databases (default: each target's own server).",
)
@_limits_options
@json_option
@click.pass_obj
def fleet_drift(obj: FleetContext, scratch_url, jobs, per_server, as_json) -> None:
    """Compare every target with what its migrations produce, as `dbkit drift` does (exit 4
    on drift)."""
    from dbkit import api
    from dbkit.fleet.run import Limits

    limits = Limits(jobs, per_server)
    _run(
        as_json,
        lambda observer, stop: api.fleet_drift(
            obj.base.settings(),
            obj.selection(),
            limits,
            scratch_url=scratch_url,
            observer=observer,
            stop=stop,
        ),
    )
