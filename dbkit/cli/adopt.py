"""Moving from another tool: ``dbkit import``, ``dbkit adopt`` and ``dbkit info``."""

from __future__ import annotations

from pathlib import Path

import click

from dbkit.cli.base import (
    Context,
    _style,
    confirmer,
    emit_json,
    json_option,
    main,
    yes_option,
)

FORMAT_NAMES = ("golang-migrate", "dbmate", "goose", "flyway", "diesel", "sqitch")


@main.command("import")
@click.option(
    "--from",
    "tool",
    required=True,
    metavar="FORMAT",
    help=f"The tool the migrations were written for: {', '.join(FORMAT_NAMES)}.",
)
@click.argument("source_dir", type=click.Path(file_okay=False))
@click.option(
    "--into",
    "into",
    type=click.Path(file_okay=False),
    help="Project directory to write (default: --project, else the current directory). It may "
    "hold an alembic.ini or other files: they are kept; it must not hold revisions yet.",
)
@click.option(
    "--phase", default="imported", show_default=True, help="Phase of the imported migrations."
)
@json_option
@click.pass_obj
def import_(
    obj: Context, tool: str, source_dir: str, into: str | None, phase: str, as_json: bool
) -> None:
    """Import another tool's migrations from SOURCE_DIR as a dbkit project.

    Migrations become revisions 0001, 0002... in exactly the order the source tool applies
    them, each with its SQL pair (the down file as the rollback) and its transactional
    behaviour; the revision file keeps the original name and version, which `dbkit adopt`
    matches against the tool's history table. A migration without a down file gets a
    rollback that refuses to run; files the tool ignores, and files dbkit cannot convert, are
    listed. Reads files only: no database is touched. See docs/import.md.
    """
    from dbkit import api

    target = Path(into or obj.project or ".")
    result = api.import_migrations(tool, Path(source_dir), target, phase=phase)
    if as_json:
        emit_json(result)
        return
    for migration in result.migrations:
        mode = "" if migration.transactional else "  (non-transactional)"
        rollback = "" if migration.has_rollback else _style("  (no rollback)", fg="yellow")
        click.echo(f"{migration.file_name:<44} <- {migration.source_files[0]}{mode}{rollback}")
        for note in migration.notes:
            click.echo(f"    note: {note}")
    for file, reason in result.skipped:
        click.echo(_style(f"not imported: {file}: {reason}", fg="yellow"))
    for file, reason in result.ignored:
        click.echo(f"ignored:      {file}: {reason}")
    for file in result.kept:
        click.echo(f"kept:         {file} (already there; not overwritten)")
    click.echo(result.message)


@main.command()
@click.option(
    "--history-table",
    metavar="TABLE",
    help="The source tool's history table, when it was configured with another name or "
    "schema (default: schema_migrations, goose_db_version, flyway_schema_history, "
    "__diesel_schema_migrations or sqitch.changes).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Record the baseline even though the live schema differs from what the migrations "
    "build (the history checks still apply).",
)
@yes_option
@json_option
@click.pass_obj
def adopt(obj: Context, history_table: str | None, force: bool, yes: bool, as_json: bool) -> None:
    """Take over a database another tool migrated, from that tool's history table.

    The project must come from `dbkit import`. Reads the tool's history (which versions it
    applied), finds the matching revision of the project and baselines there, without
    running any SQL. Refuses (exit 2) a history with failed rows (Flyway success = false,
    golang-migrate dirty), gaps, or versions the project lacks; refuses (exit 4) a live
    schema that differs from what the migrations build, unless --force.
    """
    from dbkit import api

    result = api.adopt(
        obj.settings(), history_table=history_table, force=force, confirm=confirmer(yes)
    )
    emit_json(result) if as_json else click.echo(result.message)


@main.command()
@json_option
@click.pass_obj
def info(obj: Context, as_json: bool) -> None:
    """Show every migration of the plan with its state, in order.

    States: applied, baseline (recorded without running, by baseline or adopt), left
    applied (a check failed after it ran; --no-auto-rollback), failed (its last run failed,
    nothing of it stayed), pending, and out of plan (recorded in the database, absent from
    the files). Applied ones show when, by whom, how long, and whether their files still
    match the checksum recorded (ok / edited). Read-only.
    """
    from dbkit import api

    result = api.info(obj.settings())
    if as_json:
        emit_json(result)
        return
    colours = {
        "applied": "green",
        "baseline": "green",
        "left applied": "red",
        "failed": "red",
        "pending": "yellow",
        "out of plan": "red",
    }
    click.echo(f"database: {result.database}")
    click.echo(f"current:  {result.current_revision or 'base (nothing applied)'}")
    sources = any(m.source_version for m in result.migrations)
    header = f"{'migration':<40} " + (f"{'source':<16} " if sources else "")
    header += f"{'phase':<12} {'state':<13} {'applied at':<24} {'ms':>9}  {'checksum':<8} by"
    click.echo(header)
    for m in result.migrations:
        when = f"{m.applied_at:%Y-%m-%d %H:%M:%S%z}" if m.applied_at else ""
        ms = f"{m.duration_ms:.1f}" if m.duration_ms is not None else ""
        source = f"{m.source_version or '':<16} " if sources else ""
        line = (
            f"{m.name or m.revision:<40} {source}{m.phase or '':<12} "
            f"{_style(f'{m.state:<13}', fg=colours[m.state])} {when:<24} {ms:>9}  "
            f"{m.checksum or '':<8} {m.applied_by or ''}"
        )
        click.echo(line.rstrip())
        if m.message and m.state in ("left applied", "failed", "out of plan"):
            click.echo(f"    {m.message}")
    for problem in result.plan_problems:
        click.echo(_style(f"plan: {problem}", fg="red"))
    click.echo(result.summary)
