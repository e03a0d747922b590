"""CLI commands for working on a plan as a team: ``dbkit rebase``.

Registered on :data:`dbkit.cli.base.main` when :mod:`dbkit.cli` imports this module.
"""

from __future__ import annotations

import click

from dbkit.cli.base import Context, emit_json, json_option, main


@main.command()
@click.option(
    "--move",
    "move",
    multiple=True,
    metavar="REV",
    help="A migration of the branch that moves (file name, unique prefix or revision id); its "
    "descendants move with it. Repeatable.",
)
@click.option(
    "--onto",
    metavar="GIT_REF",
    help="The other branch as a git ref (e.g. main): the migrations it holds stay, the others "
    "move on top of them.",
)
@click.option(
    "--applied-in",
    "applied_in",
    multiple=True,
    metavar="ENV|URL",
    help="A database (an environment name or a URL) whose applied migrations must not move; "
    "alone, the branch none of them has applied moves. Repeatable.",
)
@click.option("--dry-run", is_flag=True, help="Print what would move; write nothing.")
@json_option
@click.pass_obj
def rebase(
    obj: Context,
    move: tuple[str, ...],
    onto: str | None,
    applied_in: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
) -> None:
    """Make a forked plan linear: move one branch's migrations on top of the other's head.

    After two git branches each added migrations, the merged plan has two heads (and often a
    duplicate revision number), which migrate refuses. rebase re-parents the first migration
    that moves onto the other branch's head, renumbers the moved migrations after it
    (timestamp ids are kept while they still increase) and renames their files in
    migrations/versions/, sql/, rollbacks/ and validations/ together. Say which branch moves
    with --move, --onto or --applied-in; a migration applied in a database named with
    --applied-in never moves. Runs no SQL; --applied-in only reads the databases' history.
    """
    from dbkit import api
    from dbkit.settings import resolve

    settings = obj.settings()
    targets = [
        resolve(obj.project, url=target)
        if "://" in target or "=" in target
        else resolve(obj.project, env=target)
        for target in applied_in
    ]
    result = api.rebase(settings, move=move, onto=onto, applied_in=targets, dry_run=dry_run)
    if as_json:
        emit_json(result)
        return
    for label in result.consulted:
        click.echo(f"checked {label}")
    for m in result.moves:
        click.echo(
            f"{'would move' if dry_run else 'moved'} {m.old_name} -> {m.new_name} "
            f"(follows {m.new_parent}, was {m.old_parent})"
        )
        for old, new in m.files:
            if old != new:
                click.echo(f"    {old} -> {new}")
    click.echo(result.message)
