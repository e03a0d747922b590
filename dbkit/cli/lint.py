"""CLI command ``dbkit lint``.

Registered on :data:`dbkit.cli.app.main` when :mod:`dbkit.cli.app` imports this module.
"""

from __future__ import annotations

from pathlib import Path

import click

from dbkit.cli.base import Context, _style, emit_json, json_option, main

_COLORS = {"error": "red", "warning": "yellow"}


@main.command()
@click.option(
    "--fix",
    is_flag=True,
    help="Apply sqlfluff's fixes to the files first, then lint the result. Never rewrites the "
    "sql/ and rollbacks/ files of an applied migration (its checksum would change everywhere it "
    "ran): applied means in the --base ref, or applied in the database given with --url/--env.",
)
@click.option(
    "--changed",
    is_flag=True,
    help="Lint only the migrations whose files are new or changed since --base (committed, "
    "staged, unstaged or untracked): what CI wants on a pull request.",
)
@click.option(
    "--base",
    default="main",
    show_default=True,
    metavar="GIT_REF",
    help="The git ref --changed compares with, and whose migrations --fix leaves alone.",
)
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(["dbkit", "sqlfluff", "squawk"]),
    help="Run only this source of rules (repeatable; default: all three).",
)
@json_option
@click.pass_obj
def lint(
    obj: Context, fix: bool, changed: bool, base: str, only: tuple[str, ...], as_json: bool
) -> None:
    """Lint the migrations, rollbacks and validations, without a database.

    \b
    Three sources of rules:
      dbkit     the plan's structure and the SQL inside the files (rule ids dbkit/...)
      sqlfluff  style and parse errors, with the project's sqlfluff config (sqlfluff/CODE)
      squawk    migration safety, with the project's .squawk.toml (squawk/RULE)

    Findings are listed by file with their line and rule. Exits 1 when a finding of
    severity error exists, 0 otherwise (warnings are reported only). With a database (--url,
    --env, DBKIT_DATABASE_URL/DATABASE_URL or the project's url), every check and key query
    is EXPLAINed there (never run): one that would read all of a relation with at least
    big_table_rows rows (default 1,000,000) is a warning, dbkit/check-scans-big-table;
    without one that rule is skipped, in one line. --fix with --url/--env also reads which
    migrations are applied.
    """
    import os

    from dbkit import api
    from dbkit.errors import LintFailed
    from dbkit.settings import find_project_dir

    project = find_project_dir(Path(obj.project) if obj.project else None)
    database = (
        obj.settings() if fix and (obj.url or obj.env or os.environ.get("DBKIT_ENV")) else None
    )
    explain_in, skipped = None, ""
    if not only or "dbkit" in only:
        configured = obj.settings()
        if configured.url is not None:
            explain_in = configured
        else:
            skipped = "no database (give --url or --env, or configure one)"
    report = api.lint(
        project,
        fix=fix,
        sources=only,
        changed=changed,
        base=base,
        applied_in=database,
        explain_in=explain_in,
        explain_skipped=skipped,
    )
    if as_json:
        emit_json(report, exit_code=0 if report.ok else int(LintFailed.exit_code))
        if not report.ok:
            click.get_current_context().exit(int(LintFailed.exit_code))
        return
    if changed:
        click.echo(f"linting the migrations changed since {base}")
    for path in report.fixed:
        click.echo(f"fixed {path}")
    if report.protected:
        click.echo(
            f"not fixed (applied: {', '.join(report.protected_because)}; a rewrite would change "
            f"their checksums): {', '.join(report.protected)}"
        )
    for path, findings in report.by_file().items():
        click.echo(_style(path or "(project)", bold=True))
        for f in findings:
            line = str(f.line) if f.line else "-"
            severity = _style(f"{f.severity:<7}", fg=_COLORS.get(f.severity))
            click.echo(f"  {line:>5}  {severity}  {f.rule}  {f.message}")
    scans = report.big_table_scans
    if scans:
        if scans.get("skipped"):
            click.echo(f"dbkit/check-scans-big-table skipped: {scans['skipped']}")
        else:
            not_planned = (
                f" ({scans['not_planned']} not planned: their tables are not there yet)"
                if scans["not_planned"]
                else ""
            )
            click.echo(
                f"dbkit/check-scans-big-table: {scans['explained']} checks and key queries "
                f"explained on {scans['database']}{not_planned}"
            )
    if report.ok:
        click.echo(report.summary)
        return
    raise LintFailed(report.summary)
