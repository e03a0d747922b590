"""CLI command ``dbkit lint``.

Registered on :data:`dbkit.cli.app.main` when :mod:`dbkit.cli.app` imports this module.
"""

from __future__ import annotations

from pathlib import Path

import click

from dbkit.cli.base import Context, _emit_json, _style, handle_errors, json_option, main

_COLORS = {"error": "red", "warning": "yellow"}


@main.command()
@click.option(
    "--fix",
    is_flag=True,
    help="Apply sqlfluff's fixes to the files first, then lint the result. An applied "
    "migration whose SQL changes gets a new checksum: run `dbkit repair` where it ran.",
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
@handle_errors
def lint(obj: Context, fix: bool, only: tuple[str, ...], as_json: bool) -> None:
    """Lint the migrations, rollbacks and validations, without a database.

    \b
    Three sources of rules:
      dbkit     the plan's structure and the SQL inside the files (rule ids dbkit/...)
      sqlfluff  style and parse errors, with the project's sqlfluff config (sqlfluff/CODE)
      squawk    migration safety, with the project's .squawk.toml (squawk/RULE)

    Findings are listed by file with their line and rule. Exits 1 when a finding of
    severity error exists, 0 otherwise (warnings are reported only).
    """
    from dbkit.errors import LintFailed
    from dbkit.lint.rules import SOURCES, lint_project
    from dbkit.settings import find_project_dir

    project = find_project_dir(Path(obj.project) if obj.project else None)
    report = lint_project(project, fix=fix, sources=only or SOURCES)
    if as_json:
        _emit_json(report.to_dict())
        if not report.ok:
            click.get_current_context().exit(int(LintFailed.exit_code))
        return
    for path in report.fixed:
        click.echo(f"fixed {path}")
    for path, findings in report.by_file().items():
        click.echo(_style(path or "(project)", bold=True))
        for f in findings:
            line = str(f.line) if f.line else "-"
            severity = _style(f"{f.severity:<7}", fg=_COLORS.get(f.severity))
            click.echo(f"  {line:>5}  {severity}  {f.rule}  {f.message}")
    if report.ok:
        click.echo(report.summary)
        return
    raise LintFailed(report.summary)
