"""CLI commands of the CI gate that compare catalogs: verify, drift and show.

Registered on :data:`dbkit.cli.base.main` when :mod:`dbkit.cli` imports this module. Each
command calls one function of :mod:`dbkit.api` and renders its result as text or, with
``--json``, as the result's ``to_dict()``.
"""

from __future__ import annotations

import sys

import click

from dbkit import api
from dbkit.cli.base import Context, _style, emit_json, json_option, main

DIFF_LIMIT = 50  # differences printed in text mode; --json has them all


def _print_differences(differences, indent: str = "  ") -> None:
    from dbkit.compare.catalog import format_differences

    if not differences:
        return
    for line in format_differences(differences, limit=DIFF_LIMIT).splitlines():
        click.echo(f"{indent}{line}")


# -- verify ----------------------------------------------------------------------------------


@main.command()
@click.option(
    "--url",
    "server_url",
    metavar="URL",
    help="Server to verify on: dbkit creates a throwaway database there (the role needs "
    "CREATEDB) and drops it at the end; the URL's own database is only used to connect. "
    "Default: the project's embedded server.",
)
@click.option(
    "--keep-going",
    is_flag=True,
    help="Do not stop at the first broken migration: verify each one from the state before it "
    "(rebuilt in a fresh database after a failure) and report them all, with a summary table.",
)
@click.option(
    "--accept",
    "accept",
    multiple=True,
    type=click.Choice(["column-order"]),
    help="A kind of difference that does not fail a migration, only is reported: column-order "
    "(a rollback re-added a column at the end of its table). Repeatable.",
)
@json_option
@click.pass_obj
def verify(
    obj: Context,
    server_url: str | None,
    keep_going: bool,
    accept: tuple[str, ...],
    as_json: bool,
) -> None:
    """Prove that every rollback restores the schema, in a throwaway database.

    For each migration in order: snapshot the catalog, migrate up one, run its pre- and
    post-checks, roll it back and require the catalog to equal the snapshot, migrate up
    again and require the catalog to equal the first run's. Then the whole chain: head to
    base (must equal the empty database) and back to head. Stops at the first migration
    that fails and prints what differs; with --keep-going, reports every one that fails.

    Each difference has a kind: column-order (only a column's position changed: a rollback
    dropped and re-added it at the end) or schema (anything else: a missing index, a changed
    type). --accept column-order reports the first kind without failing.

    The database `migrate` targets (DBKIT_DATABASE_URL, DATABASE_URL, [tool.dbkit] url) is
    never used; `dbkit --url URL verify` is the same as `dbkit verify --url URL`.

    Exits 0 when everything is verified, 3 when a migration or the chain fails, 1 when
    verification cannot run (broken plan, server unreachable, no CREATEDB).
    """

    def progress(verdict) -> None:
        if not verdict.verified:
            mark = _style("skip", fg="yellow")
        else:
            mark = _style("ok  ", fg="green") if verdict.ok else _style("FAIL", fg="red")
        click.echo(f"{mark} {verdict.name:<40} [{verdict.phase}] {verdict.duration_ms:8.1f} ms")
        if verdict.accepted:
            click.echo(f"     accepted: {_kinds(verdict.kinds)}")

    result = api.verify(
        obj.settings(with_url=False),  # only the project and its limits; never its URL
        server_url=server_url or obj.url,
        progress=None if as_json else progress,
        keep_going=keep_going,
        accept=accept,
    )
    if as_json:
        emit_json(result)
        sys.exit(int(result.exit_code))
    failure = result.failure
    if result.chain is not None:
        label = _style("ok  ", fg="green") if result.chain.ok else _style("FAIL", fg="red")
        click.echo(
            f"{label} chain head -> base -> head {'':<19} {result.chain.duration_ms:8.1f} ms"
        )
    elif keep_going and result.failures:
        click.echo("chain head -> base -> head not checked: migrations above failed")
    if failure is None:
        click.echo(result.message)
    elif keep_going:
        _summary_table(result)
        for verdict in result.failures:
            click.echo(_style(f"{verdict.message}", fg="red"))
            _print_differences(verdict.differences)
        click.echo(_style(f"verify failed: {result.message}", fg="red"))
    else:
        click.echo(_style(f"verify failed: {failure.message}", fg="red"))
        _print_differences(failure.differences)
        click.echo(
            f"checked {len(result.migrations)} of {result.migrations_total} migrations on "
            f"{result.server} in {result.duration_ms / 1000:.2f}s"
        )
    sys.exit(int(result.exit_code))


def _kinds(kinds: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "-"


def _summary_table(result) -> None:
    """One line per migration that failed or was not verified (``verify --keep-going``)."""
    rows = [v for v in result.migrations if not v.ok]
    click.echo("")
    click.echo(f"{'revision':<16} {'migration':<40} {'verdict':<12} {'stage':<26} differences")
    for v in rows:
        verdict = "not verified" if not v.verified else "FAIL"
        click.echo(
            f"{v.revision:<16} {v.name:<40} {verdict:<12} {v.stage or '-':<26} {_kinds(v.kinds)}"
        )
    click.echo(
        f"{len(result.failures)} failed, {len(result.not_verified)} not verified, "
        f"{len(result.migrations) - len(rows)} ok of {result.migrations_total} migrations on "
        f"{result.server} in {result.duration_ms / 1000:.2f}s"
    )
    click.echo("")


# -- drift -----------------------------------------------------------------------------------


@main.command()
@click.option(
    "--scratch-url",
    metavar="URL",
    help="Server where the migrations are replayed into a throwaway database (the role needs "
    "CREATEDB there). Default: the live database's own server. 'embedded' uses the "
    "project's embedded server. Use a server of the same PostgreSQL major as the live one.",
)
@json_option
@click.pass_obj
def drift(obj: Context, scratch_url: str | None, as_json: bool) -> None:
    """Compare the live database's schema with what its migrations build.

    Reads the revision in alembic_version, replays the migrations up to it into a throwaway
    database, and compares both catalogs: objects missing from the live database, extra in
    it, or changed (definitions, columns, grants, comments...). The live database is only
    read, in read-only transactions.

    Exits 0 when they match, 4 when they differ, 1 when the comparison cannot run.
    """
    result = api.drift(obj.settings(), scratch_url=scratch_url)
    if as_json:
        emit_json(result)
        sys.exit(int(result.exit_code))
    click.echo(f"database:  {result.database}")
    at = f"{result.revision_name}" if result.revision else "base (no migration applied)"
    click.echo(f"revision:  {at}")
    click.echo(f"replayed:  on {result.scratch_server}")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if result.ok:
        click.echo(_style(result.message, fg="green"))
    else:
        click.echo(_style(result.message, fg="red"))
        _print_differences(result.differences)
    sys.exit(int(result.exit_code))


# -- show ------------------------------------------------------------------------------------


@main.command()
@click.argument("revision")
@json_option
@click.pass_obj
def show(obj: Context, revision: str, as_json: bool) -> None:
    """Show one migration: its place, phase, options, SQL pair and checks (offline).

    REVISION is a revision id (0007), a file name or its unique prefix (0007_leads), or
    'head'.
    """
    view = api.show(obj.settings(), revision)
    if as_json:
        emit_json(view)
        return
    _render_show(view)


def _render_show(view) -> None:
    def rule(title: str) -> None:
        click.echo(_style(f"-- {title} " + "-" * max(3, 76 - len(title)), bold=True))

    click.echo(
        _style(f"{view.revision}  {view.name}", bold=True)
        + f"  [phase {view.phase}]  ({view.position} of {view.total})"
    )
    if view.description:
        click.echo(view.description)
    click.echo("")
    click.echo(f"parent:            {view.down_revision or 'base'}")
    click.echo(f"next:              {view.next_revision or '(head)'}")
    click.echo(
        "transactional:     "
        + ("yes" if view.transactional else "no (runs statement by statement outside one)")
    )
    for option, setting in view.options.items():
        source = {
            "revision": "set by the revision",
            "project": "project setting",
            "environment": "environment setting",
        }.get(setting["source"], "dbkit default")
        click.echo(f"{option + ':':<19}{setting['value']} ({source})")
    click.echo(f"preamble:          {' '.join(view.preamble)}")
    click.echo(f"checksum:          sha256 {view.checksum}")
    click.echo(f"revision file:     {view.files['revision']}")
    rule(f"up: {view.files['up']}")
    click.echo(view.up_sql.rstrip("\n"))
    rule(f"down: {view.files['down']}")
    click.echo(view.down_sql.rstrip("\n"))
    for title, checks in (
        (f"phase {view.phase} pre-checks", view.phase_pre_checks),
        (f"pre-checks: {view.files['pre_checks']}", view.pre_checks),
        (f"post-checks: {view.files['post_checks']}", view.post_checks),
        (f"phase {view.phase} post-checks", view.phase_post_checks),
    ):
        if not checks and title.startswith("phase"):
            continue
        rule(title)
        if not checks:
            click.echo("(none)")
        for check in checks:
            about = f"  -- {check.description}" if check.description else ""
            click.echo(f"{check.kind}: {check.name}{about}  ({check.location})")
            click.echo(check.query.rstrip())
