"""The ``dbkit`` command line: parse options, call one library function, render its result.

Nothing here talks to a database or reads migration files itself; that is the library's job
(:mod:`dbkit.api` and friends). Heavy modules (psycopg, the embedded server, Alembic) are only
imported by the commands that need them, so ``dbkit --help`` and ``dbkit sql`` start fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dbkit import api
from dbkit.cli.base import (
    Context,
    _style,
    auto_rollback_option,
    confirmer,
    emit_json,
    json_option,
    main,
    yes_option,
)

# -- project files -------------------------------------------------------------------------


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option(
    "--ids",
    type=click.Choice(["sequential", "timestamp"]),
    default="sequential",
    show_default=True,
    help="How `dbkit new` numbers migrations: 0001, 0002, ... or UTC timestamps "
    "(YYYYMMDDHHMMSS, fewer clashes between branches). Recorded as `ids` in dbkit.toml.",
)
@json_option
def init(directory: str, ids: str, as_json: bool) -> None:
    """Create a new dbkit project in DIRECTORY (default: the current directory).

    Writes migrations/versions/, sql/, rollbacks/, validations/, dbkit.toml, the lint
    configurations (.sqlfluff, .squawk.toml) and the Alembic environment (alembic.ini,
    migrations/env.py) so `alembic upgrade head` works too.
    """
    result = api.init(Path(directory), ids=ids)
    _render_created(result, as_json)


def _render_created(result, as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    for path in result.paths:
        click.echo(f"created {path}")


@main.command()
@click.argument("name")
@click.option("--phase", required=True, help="Phase the migration belongs to (lowercase name).")
@click.option(
    "--non-transactional",
    is_flag=True,
    help="Run it statement by statement outside a transaction (CREATE INDEX CONCURRENTLY, "
    "ALTER TYPE ... ADD VALUE on old servers, VACUUM). Its files must then be idempotent.",
)
@json_option
@click.pass_obj
def new(obj: Context, name: str, phase: str, non_transactional: bool, as_json: bool) -> None:
    """Create the files of a new migration NAME at the head of the chain.

    Writes the revision file, sql/NNNN_name.sql, rollbacks/NNNN_name.sql and empty
    validations/NNNN_name.pre.sql and .post.sql.
    """
    result = api.new(obj.settings(), name, phase=phase, non_transactional=non_transactional)
    _render_created(result, as_json)


# -- migrate / rollback ----------------------------------------------------------------------


class _ProgressReporter:
    """Prints one line per migration as it runs (text mode)."""

    def step_started(self, migration, direction: str) -> None:
        pass

    def step_finished(self, result) -> None:
        arrow = "up  " if result.direction == "up" else "down"
        outcome = result.outcome
        color = {
            "applied": "green",
            "rolled back": "yellow",
            "skipped": "cyan",
            "unknown": "magenta",
        }.get(outcome)
        line = (
            f"{arrow} {result.name:<40} [{result.phase}] "
            f"{_style(outcome, fg=color)} in {result.duration_ms:.1f} ms"
        )
        click.echo(line)
        for note in result.notes:
            click.echo(f"       {note}")

    def check_finished(self, result) -> None:
        _echo_check(result)

    def guard_finished(self, result) -> None:
        verdict = _style(result.verdict, fg="red" if result.tripped else "green")
        click.echo(f"     guard {result.describe()}: {verdict}")

    def note(self, text: str) -> None:
        click.echo(f"note: {text}", err=True)


def _echo_check(result) -> None:
    """One line per check; a failed one also shows its location and first rows."""
    if result.passed:
        state = _style("ok", fg="green")
        click.echo(
            f"     check {result.name:<36} {state} ({result.when}, 0 rows, "
            f"{result.duration_ms:.1f} ms)"
        )
        return
    state = _style("FAILED", fg="red", bold=True)
    click.echo(
        f"     check {result.name:<36} {state} {result.found} at {result.location} ({result.when})"
    )
    for row in result.rows():
        click.echo(f"           {row}")


class _CheckPrinter:
    """Reporter for `dbkit validate`: only checks are printed."""

    def step_started(self, *args) -> None:
        pass

    def step_finished(self, *args) -> None:
        pass

    def guard_finished(self, *args) -> None:
        pass

    def check_finished(self, result) -> None:
        _echo_check(result)

    def note(self, text: str) -> None:
        click.echo(f"note: {text}", err=True)


def _render_run(result, as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    applied = [s for s in result.steps if s.outcome not in ("skipped", "unknown")]
    skipped = [s for s in result.steps if s.outcome in ("skipped", "unknown")]
    if result.steps:
        verb = "applied" if result.command == "migrate" else "rolled back"
        where = f"database now at {result.to_revision or 'base'}"
        if result.level != "schema":
            verb = f"rolled back at the {result.level} level"
            where = f"schema unchanged, database still at {result.to_revision or 'base'}"
        if result.dry_run:
            verb, where = f"would be {verb}", f"it would end at {result.to_revision or 'base'}"
        summary = (
            f"{len(applied)} migration{'s' if len(applied) != 1 else ''} {verb} in "
            f"{result.duration_ms / 1000:.2f}s; {where}"
        )
        if skipped:
            summary += f"; {len(skipped)} skipped"
            if result.level != "schema":
                summary += f" (no {result.level}-level file)"
        failed = [c for c in result.checks if not c.passed]
        if result.checks:
            summary += f"; {len(result.checks) - len(failed)}/{len(result.checks)} checks passed"
        click.echo(summary)
    if result.message:
        click.echo(result.message)


@main.command()
@click.option("--to", "to", metavar="REV", help="Stop at this revision (default: head).")
@click.option("--phase", metavar="PHASE", help="Migrate up to the end of this phase.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Run everything inside one transaction and roll it back; migrations that must run "
    "outside a transaction are reported, not run, and a later one that fails without them is "
    "labelled 'unknown', not failed.",
)
@auto_rollback_option
@click.option(
    "--perf-threshold",
    type=float,
    metavar="RATIO",
    help="Roll a phase back when a key query gets slower by more than this (default 0.2 = 20%, "
    "or perf_threshold in dbkit.toml / [tool.dbkit]).",
)
@yes_option
@json_option
@click.pass_obj
def migrate(
    obj: Context,
    to: str | None,
    phase: str | None,
    dry_run: bool,
    auto_rollback: bool,
    perf_threshold: float | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Apply pending migrations, each in its own transaction, with their checks.

    Before running, the plan and the check files are read (no connection is made if they are
    broken) and applied migrations' checksums are compared with their files. A session
    advisory lock keeps two runs from interleaving. Each migration runs its pre-checks, its
    SQL, its post-checks and its history row in one transaction; a phase is bracketed by its
    phase checks, a row-count comparison (no data loss) and the performance guard. A failed
    check undoes the unit it guards and exits 3.
    """
    reporter = None if as_json else _ProgressReporter()
    result = api.migrate(
        obj.settings(),
        to=to,
        phase=phase,
        dry_run=dry_run,
        auto_rollback=auto_rollback,
        perf_threshold=perf_threshold,
        reporter=reporter,
        confirm=confirmer(yes),
    )
    _render_run(result, as_json)


@main.command()
@click.option("--to", "to", metavar="REV", help="Roll back to this revision ('base' for all).")
@click.option("--phase", metavar="PHASE", help="Roll back to the state before this phase.")
@click.option("--steps", type=int, metavar="N", help="Roll back the last N migrations.")
@click.option(
    "--level",
    type=click.Choice(["schema", "data", "feature"]),
    default="schema",
    show_default=True,
    help="schema: paired rollbacks (full reversal); data: run rollbacks/NNNN_slug.data.sql "
    "(keep tables, remove the data the migrations introduced); feature: run "
    "rollbacks/NNNN_slug.feature.sql (keep tables and data, switch the feature off).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Run the rollbacks inside one transaction and roll it back (non-transactional ones "
    "are skipped; a later one that fails without them is labelled 'unknown').",
)
@auto_rollback_option
@yes_option
@json_option
@click.pass_obj
def rollback(
    obj: Context,
    to: str | None,
    phase: str | None,
    steps: int | None,
    level: str,
    dry_run: bool,
    auto_rollback: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Roll back migrations in reverse order; an explicit target is required.

    --phase P returns the database to where it was before phase P, rolling back any later
    phases first. After each step the checks of the state it returns to run; after a whole
    phase, the previous phase's post-checks and the row counts stored before the phase.
    The data and feature levels leave the schema (and alembic_version) as it is.
    """
    reporter = None if as_json else _ProgressReporter()
    result = api.rollback(
        obj.settings(),
        to=to,
        phase=phase,
        steps=steps,
        level=level,
        dry_run=dry_run,
        auto_rollback=auto_rollback,
        reporter=reporter,
        confirm=confirmer(yes),
    )
    _render_run(result, as_json)


@main.command()
@click.option("--phase", metavar="PHASE", help="Only the checks of this phase.")
@click.option("--pre", is_flag=True, help="Only pre-checks.")
@click.option("--post", is_flag=True, help="Only post-checks.")
@click.option(
    "--deep",
    is_flag=True,
    help="Also prove every foreign key row by row: one anti-join per key, generated from the "
    "catalog, over the whole child table (minutes at production size). Finds rows written "
    "while keys were not enforced (session_replication_role = replica, DISABLE TRIGGER ALL), "
    "which a validated constraint does not see.",
)
@json_option
@click.pass_obj
def validate(
    obj: Context, phase: str | None, pre: bool, post: bool, deep: bool, as_json: bool
) -> None:
    """Run checks on their own, read-only (for CI, or before a maintenance window).

    Without --phase: the pre-checks of the next pending migration (and of its phase if it
    starts one) and the post-checks of the current state. With --phase P: P's pre-checks and
    its first migration's, and the post-checks of P's applied migrations (and of P once
    complete). Exits 3 when a check finds rows.
    """
    result = api.validate(
        obj.settings(),
        phase=phase,
        pre=pre,
        post=post,
        deep=deep,
        reporter=None if as_json else _CheckPrinter(),
    )
    if as_json:
        emit_json(result)
    else:
        failed = len(result.failed)
        total = len(result.checks)
        if not total:
            click.echo("no checks apply to the current state")
        else:
            click.echo(f"{total - failed}/{total} checks passed")
    sys.exit(int(result.exit_code))


# -- state -----------------------------------------------------------------------------------


@main.command()
@json_option
@click.pass_obj
def status(obj: Context, as_json: bool) -> None:
    """Show the current revision and phase, pending migrations and edited applied ones.

    Exits 4 when an applied migration's files changed since it ran.
    """
    result = api.status(obj.settings())
    if as_json:
        emit_json(result)
    else:
        click.echo(f"database:  {result.database}")
        current = result.current_revision or "base (nothing applied)"
        phase = f" [phase {result.current_phase}]" if result.current_phase else ""
        click.echo(f"current:   {current}{phase}")
        if len(result.heads) > 1:
            click.echo(f"heads:     {', '.join(result.heads)} (the plan forks)")
        else:
            click.echo(f"head:      {result.head or '(no migrations)'}")
        if result.notice:
            click.echo(_style(f"notice:    {result.notice}", fg="yellow"))
        if result.pending:
            click.echo(f"pending:   {len(result.pending)}")
            for m in result.pending:
                click.echo(f"  {m.name:<40} [{m.phase}]")
        elif not result.left_applied and not result.interrupted:
            click.echo(_style("up to date", fg="green"))
        for run in result.interrupted:
            click.echo(_style(f"interrupted: {run['message']}", fg="red"))
        for left in result.left_applied:
            click.echo(
                _style(
                    f"left applied: {left['name']} failed its checks and was left applied for "
                    f"inspection; undo it with `{left['undo']}`",
                    fg="red",
                )
            )
        for m in result.changed:
            click.echo(
                _style(f"changed:   {m.name} was edited after it was applied", fg="red"),
            )
        if result.unrecorded:
            names = ", ".join(m.revision for m in result.unrecorded)
            click.echo(f"unrecorded: {names} (applied without dbkit history; checksums unknown)")
        for problem in result.plan_problems:
            click.echo(_style(f"plan:      {problem}", fg="red"))
    if result.changed:
        names = ", ".join(m.name for m in result.changed)
        click.echo(
            f"dbkit: error: {names} {'was' if len(result.changed) == 1 else 'were'} edited "
            "after being applied (hint: restore the files, or accept the edit with "
            "`dbkit repair`)",
            err=True,
        )
    sys.exit(int(result.exit_code))


@main.command()
@click.option("--limit", type=int, metavar="N", help="Show only the last N runs.")
@json_option
@click.pass_obj
def history(obj: Context, limit: int | None, as_json: bool) -> None:
    """List every recorded run of a migration, oldest first."""
    rows = api.history(obj.settings(), limit=limit)
    if as_json:
        emit_json({"rows": [row.to_dict() for row in rows]})
        return
    if not rows:
        click.echo("no history: dbkit has not run on this database")
        return

    def direction_of(row) -> str:
        return row.direction if row.level == "schema" else f"{row.direction}:{row.level}"

    for row in rows:
        message = f"  {row.message}" if row.message else ""
        click.echo(
            f"{row.started_at:%Y-%m-%d %H:%M:%S%z}  {row.revision:<6} {direction_of(row):<12} "
            f"{row.outcome:<7} {float(row.duration_ms):>10.1f} ms  {row.applied_by}"
            f"@{row.client_host or '?'}  [{row.phase}]{message}"
        )


@main.command()
@click.argument("revision")
@click.option(
    "--force",
    is_flag=True,
    help="Record the baseline even though the live schema differs from what the migrations "
    "up to REVISION build (or without comparing them).",
)
@yes_option
@json_option
@click.pass_obj
def baseline(obj: Context, revision: str, force: bool, yes: bool, as_json: bool) -> None:
    """Adopt a database that already holds the schema up to REVISION.

    Records REVISION and the migrations before it as applied, without running their SQL.
    First compares the live schema with what those migrations build in a throwaway
    database (as `dbkit drift` does) and refuses a difference (exit 4) unless --force.
    For a database another tool migrated, `dbkit adopt` finds REVISION from its history.
    """
    result = api.baseline(obj.settings(), revision, force=force, confirm=confirmer(yes))
    emit_json(result) if as_json else click.echo(result.message)


@main.command()
@yes_option
@json_option
@click.pass_obj
def repair(obj: Context, yes: bool, as_json: bool) -> None:
    """Accept on purpose the edited files of applied migrations (records their new checksums),
    and migrations left applied after failing their checks (--no-auto-rollback)."""
    result = api.repair(obj.settings(), confirm=confirmer(yes))
    emit_json(result) if as_json else click.echo(result.message)


# -- offline SQL -----------------------------------------------------------------------------


@main.command()
@click.argument("direction", type=click.Choice(["up", "down"]), default="up")
@click.option("--from", "from_rev", metavar="REV", help="Start after this revision.")
@click.option("--to", "to_rev", metavar="REV", help="Stop at this revision.")
@json_option
@click.pass_obj
def sql(
    obj: Context, direction: str, from_rev: str | None, to_rev: str | None, as_json: bool
) -> None:
    """Print the exact SQL script a migrate (up) or rollback (down) would run.

    Offline: no database is needed. The script has the transaction boundaries, the
    alembic_version statements and the dbkit.history rows, and runs in psql as it is
    (psql -v ON_ERROR_STOP=1 -f script.sql).
    """
    result = api.sql(
        obj.settings(with_url=False), direction, from_revision=from_rev, to_revision=to_rev
    )
    emit_json(result) if as_json else click.echo(result.script, nl=False)


# -- embedded server -------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Manage the embedded default PostgreSQL server (data under .dbkit/)."""


@db.command("start")
@json_option
@click.pass_obj
def db_start(obj: Context, as_json: bool) -> None:
    """Start the embedded server (or reuse the running one) and print its URL."""
    result = api.db_start(obj.settings())
    emit_json(result) if as_json else click.echo(result.url)


@db.command("stop")
@json_option
@click.pass_obj
def db_stop(obj: Context, as_json: bool) -> None:
    """Stop the embedded server; its data stays under .dbkit/."""
    result = api.db_stop(obj.settings())
    if as_json:
        emit_json(result)
        return
    click.echo("stopped" if result.was_running else "not running")


@db.command("status")
@json_option
@click.pass_obj
def db_status(obj: Context, as_json: bool) -> None:
    """Say whether the embedded server runs, where its data is and its URL."""
    status = api.db_status(obj.settings())
    if as_json:
        emit_json(status)
        return
    if status.running:
        click.echo(f"server:     {_style('running', fg='green')} (pid {status.pid})")
        click.echo(f"url:        {status.url}")
    else:
        click.echo("server:     not running (`dbkit db start` starts it)")
    if status.version:
        click.echo(f"data:       {status.pgdata} (PostgreSQL {status.version})")
    else:
        click.echo(f"data:       {status.pgdata} (not created yet: the first command creates it)")
    if status.socket_dir is not None:
        click.echo(f"socket:     {status.socket_dir}")
    if status.os_user is not None:
        click.echo(f"os user:    {status.os_user}")
    click.echo(f"log:        {status.log}")


@db.command("url")
@json_option
@click.pass_obj
def db_url(obj: Context, as_json: bool) -> None:
    """Print the embedded server's URL (exit 1 if it is not running)."""
    url = api.db_url(obj.settings())
    emit_json({"url": url}) if as_json else click.echo(url)


if __name__ == "__main__":  # pragma: no cover
    main(prog_name="dbkit")
