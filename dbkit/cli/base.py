"""The ``dbkit`` command group, its shared options, and the text and JSON output helpers.

Command modules (:mod:`dbkit.cli.app`, :mod:`dbkit.cli.gate`, :mod:`dbkit.cli.lint`) import this
module and register their commands on :data:`main`; :mod:`dbkit.cli` imports them all.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from typing import Any

import click

from dbkit.errors import DbkitError

EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  failure (SQL error, connection problem, broken plan)
  2  usage error (bad option, unknown revision or phase), or a destructive
     command on a protected environment not confirmed (nothing changed)
  3  validation failed (a check found rows and its unit was undone, or verify
     found a rollback that does not restore the schema)
  4  checksum or drift mismatch (an applied migration's files were edited, or
     the live schema differs from its migrations)
  5  migration lock not acquired (another dbkit run is busy)
  130  interrupted by SIGINT (Ctrl-C), 143 by SIGTERM: the running step was
     cancelled on the server and undone; the error line says where the
     database is (a second Ctrl-C exits at once, still cancelling)
"""


class Context:
    """Options shared by every command, resolved into settings only when a command needs them."""

    def __init__(
        self, project: str | None, url: str | None, traceback: bool, env: str | None = None
    ) -> None:
        self.project = project
        self.url = url
        self.traceback = traceback
        self.env = env

    def settings(self):
        from dbkit.settings import resolve

        return resolve(self.project, url=self.url, env=self.env)


def _use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _style(text: str, **kwargs: Any) -> str:
    return click.style(text, **kwargs) if _use_color() else text


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def handle_errors(func):
    """Turn every DbkitError into one line on stderr and its documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        as_json = bool(ctx.params.get("as_json"))
        try:
            return func(*args, **kwargs)
        except DbkitError as exc:
            if ctx.obj is not None and ctx.obj.traceback:
                raise
            if as_json:
                _emit_json(
                    {
                        "error": str(exc),
                        "error_type": type(exc).__name__,
                        "exit_code": int(exc.exit_code),
                        "completed": [s.to_dict() for s in exc.completed],
                        "checks": [c.to_dict() for c in exc.checks],
                    }
                )
            click.echo(f"dbkit: error: {exc}", err=True)
            ctx.exit(int(exc.exit_code))

    return wrapper


auto_rollback_option = click.option(
    "--no-auto-rollback",
    "auto_rollback",
    is_flag=True,
    default=True,
    flag_value=False,
    help="When a check fails, leave the unit applied for inspection instead of undoing it "
    "(stated loudly; exit code 3 all the same).",
)

yes_option = click.option(
    "--yes",
    "-y",
    "yes",
    is_flag=True,
    help="Confirm a destructive run on a protected environment without asking (needed when "
    "there is no terminal).",
)


def confirmer(yes: bool):
    """How a destructive command on a ``protected = true`` environment is confirmed:
    ``--yes`` answers for the user; on a terminal the user is asked (default no); without a
    terminal there is no one to ask, so the library refuses (exit 2, nothing changed)."""
    if yes:
        return lambda text: True
    if not sys.stdin.isatty():
        return None

    def ask(text: str) -> bool:
        click.echo(text, err=True)
        return click.confirm("Proceed?", default=False, err=True)

    return ask


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON (for machines)."
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.option(
    "--project",
    "-p",
    type=click.Path(file_okay=False),
    help="Project directory (default: the nearest one above the current directory holding "
    "migrations/versions).",
)
@click.option(
    "--url",
    help="Database URL. Overrides DBKIT_DATABASE_URL, DATABASE_URL and [tool.dbkit] url; "
    "without any of them dbkit uses its embedded server.",
)
@click.option(
    "--env",
    "env",
    metavar="NAME",
    help="Use the environment [env.NAME] of dbkit.toml / [tool.dbkit] (its url and settings; "
    "default: DBKIT_ENV).",
)
@click.option("--traceback", is_flag=True, help="Show the Python traceback of an error.")
@click.version_option(package_name="dbkit")
@click.pass_context
def main(
    ctx: click.Context, project: str | None, url: str | None, env: str | None, traceback: bool
) -> None:
    """dbkit: schema-first PostgreSQL migrations with paired rollbacks.

    Each migration is a revision file in migrations/versions/ naming its phase and its SQL
    pair: sql/NNNN_slug.sql (up) and rollbacks/NNNN_slug.sql (down). dbkit applies them one
    transaction each, records every run in the dbkit.history table, keeps Alembic's
    alembic_version in step, and refuses to run when an applied migration was edited.
    """
    from dbkit.engine import interrupts

    interrupts.install()  # SIGINT/SIGTERM: the running step fails cleanly, exit 130/143
    ctx.obj = Context(project, url, traceback, env)
