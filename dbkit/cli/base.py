"""The ``dbkit`` command group: its shared options, the one error boundary, and the output
helpers every command uses.

Command modules (:mod:`dbkit.cli.app`, :mod:`dbkit.cli.gate`, :mod:`dbkit.cli.lint`, ...) import
this module and register their commands on :data:`main`; :mod:`dbkit.cli` imports them all.
A command parses its options, calls one function of :mod:`dbkit.api` and renders the result:
text with ``click.echo``, or ``--json`` with :func:`emit_json` (the one envelope,
docs/json.md). It raises on failure and never catches to print: :class:`DbkitGroup` turns
every error into one ``dbkit: error: ...`` line and its exit code.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import Any

import click

from dbkit.errors import DbkitError, ExitCode

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

    def settings(self, *, with_url: bool = True):
        """The resolved settings; ``with_url=False`` leaves every configured URL out (for
        verify, which never touches the database ``migrate`` targets)."""
        from dbkit.settings import resolve

        if not with_url:
            return resolve(self.project, env=self.env, need_url=False)  # limits, never its URL
        return resolve(self.project, url=self.url, env=self.env)


def _use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _style(text: str, **kwargs: Any) -> str:
    return click.style(text, **kwargs) if _use_color() else text


# -- the one error boundary ------------------------------------------------------------------

_COMMAND = "dbkit.command"  # ctx.meta key: the command being run ("migrate", "db status")
_JSON = "dbkit.json"  # ctx.meta key: --json was given

#: The exit code of an interrupt that does not carry its own (SIGINT's 128 + 2).
INTERRUPTED = 130


def command_name(ctx: click.Context | None = None) -> str:
    """The running command's name as users type it (``migrate``, ``db status``)."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return ""
    if _COMMAND in ctx.meta:
        return ctx.meta[_COMMAND]
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def emit_json(result: Any, *, exit_code: int | None = None) -> None:
    """Print a command's result as the one JSON envelope (docs/json.md).

    ``result`` is a result object with ``to_dict()`` or a dict of the payload; a list payload
    goes under a key of its own (``{"rows": [...]}``). The envelope adds ``command``, ``ok``
    and ``exit_code`` in front of the payload's keys; ``exit_code`` defaults to the payload's
    own ``exit_code`` (or the result's ``exit_code`` attribute), else 0. Every command's
    ``--json`` goes through here; errors get the same envelope from the group's boundary.
    """
    data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    if exit_code is None:
        exit_code = data.get("exit_code", getattr(result, "exit_code", 0))
    code = int(exit_code)
    envelope: dict[str, Any] = {"command": command_name(), "ok": code == 0, "exit_code": code}
    envelope.update((k, v) for k, v in data.items() if k not in envelope)
    click.echo(json.dumps(envelope, indent=2, default=str))


_emit_json = emit_json  # the name command modules used before the envelope existed


def _error_object(exc: BaseException, message: str, code: int) -> dict[str, Any]:
    error: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": message,
        "hint": getattr(exc, "hint", None),
        "exit_code": code,
    }
    for name in ("sqlstate", "location", "revision"):
        if getattr(exc, name, None) is not None:
            error[name] = getattr(exc, name)
    return error


def _report(exc: BaseException, message: str, code: int, *, command: str, as_json: bool) -> int:
    """One line on stderr (and the JSON error envelope on stdout under --json)."""
    if as_json:
        envelope = {
            "command": command,
            "ok": False,
            "exit_code": code,
            "error": _error_object(exc, message, code),
            "completed": [s.to_dict() for s in getattr(exc, "completed", [])],
            "checks": [c.to_dict() for c in getattr(exc, "checks", [])],
        }
        click.echo(json.dumps(envelope, indent=2, default=str))
    click.echo(f"dbkit: error: {message}", err=True)
    return code


def _database_error(exc: BaseException) -> bool:
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def _describe(exc: BaseException, ctx: click.Context) -> tuple[str, int]:
    """The one line and the exit code of an error that reached the boundary."""
    if isinstance(exc, DbkitError):
        return str(exc), int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        text = str(exc).strip()
        return (f"interrupted: {text}" if text else "interrupted"), int(
            getattr(exc, "exit_code", INTERRUPTED)
        )
    from dbkit.secrets import scrub
    from dbkit.text import one_line

    url = ctx.obj.url if isinstance(ctx.obj, Context) else None
    return f"database error: {one_line(scrub(str(exc), url))}", int(ExitCode.FAILURE)


def _usage_message(exc: click.ClickException) -> str:
    message = exc.format_message().strip().rstrip(".")
    message = message[:1].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        message += f" (see `{_display_path(ctx)} --help`)"
    return message


def _display_path(ctx: click.Context) -> str:
    names = []
    while ctx is not None:
        names.append("dbkit" if ctx.parent is None else (ctx.info_name or ""))
        ctx = ctx.parent
    return " ".join(reversed(names))


class DbkitGroup(click.Group):
    """The command group and the one error boundary of the command line.

    Every error a command meets ends here, once: a :class:`~dbkit.errors.DbkitError`, a
    driver error (``psycopg.Error``, its message password-scrubbed), an interrupt
    (``KeyboardInterrupt``; its ``exit_code`` attribute if it has one, else 130) and Click's
    own usage errors (exit 2) each become one ``dbkit: error: ...`` line on stderr and their
    exit code, and under ``--json`` the error envelope on stdout. Commands raise; they never
    catch to print. Global options (``--project``, ``--url``, ``--env``, ``--traceback``) are
    accepted after the command too.
    """

    group_class = type  # subgroups (dbkit db) are DbkitGroups too

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: command name -> the module that defines it, imported when the command is used
        #: (Click's lazy group: ``dbkit status`` imports neither fleet nor lint nor synth)
        self.lazy_commands: dict[str, str] = {}

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _accept_global_options(cmd)
        super().add_command(cmd, name)

    def list_commands(self, ctx: click.Context | None) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        module = self.lazy_commands.get(cmd_name)
        if cmd_name not in self.commands and module is not None:
            importlib.import_module(module)  # its decorators register its commands here
            if cmd_name not in self.commands:
                raise RuntimeError(f"{module} does not define the command {cmd_name!r}")
        return self.commands.get(cmd_name)

    def all_commands(self) -> dict[str, click.Command]:
        """Every command, its module imported (help, docs generation, tests)."""
        return {name: self.get_command(None, name) for name in self.list_commands(None)}

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None:
            parent = ctx.meta.get(_COMMAND)
            ctx.meta[_COMMAND] = f"{parent} {cmd.name}" if parent else cmd.name
        return name, cmd, rest

    def invoke(self, ctx: click.Context) -> Any:
        if ctx.parent is not None:
            return super().invoke(ctx)
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except (DbkitError, KeyboardInterrupt, Exception) as exc:
            if not isinstance(exc, DbkitError | KeyboardInterrupt) and not _database_error(exc):
                raise
            if isinstance(ctx.obj, Context) and ctx.obj.traceback:
                raise
            message, code = _describe(exc, ctx)
            _report(
                exc,
                message,
                code,
                command=ctx.meta.get(_COMMAND, ""),
                as_json=bool(ctx.meta.get(_JSON)),
            )
            raise click.exceptions.Exit(code) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except click.ClickException as exc:  # bad option value, missing option, unknown command
            if type(exc).__name__ == "NoArgsIsHelpError":  # `dbkit`, `dbkit db`: the help
                click.echo(exc.format_message(), err=True)
                code = exc.exit_code
            else:
                ctx = getattr(exc, "ctx", None)
                code = _report(
                    exc,
                    _usage_message(exc),
                    exc.exit_code,
                    command=command_name(ctx) if ctx is not None else "",
                    as_json="--json" in argv,
                )
        except click.Abort as exc:  # an interrupt outside a command (while parsing, prompting)
            cause = exc.__cause__ or KeyboardInterrupt()
            code = _report(
                cause,
                "interrupted",
                int(getattr(cause, "exit_code", INTERRUPTED)),
                command="",
                as_json="--json" in argv,
            )
        if not standalone_mode:
            return code
        sys.exit(code)


def _set_global(name: str):
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value in (None, False):
            return
        obj = ctx.find_object(Context)
        if obj is not None:
            setattr(obj, name, value)

    return callback


def _accept_global_options(cmd: click.Command) -> None:
    """Let ``dbkit migrate --url URL`` mean ``dbkit --url URL migrate`` (hidden options; a
    command's own option of the same name, like verify's ``--url``, wins)."""
    if isinstance(cmd, click.Group):
        return
    taken = {opt for param in cmd.params for opt in getattr(param, "opts", [])}
    for opts, name, is_flag in (
        (("--project", "-p"), "project", False),
        (("--url",), "url", False),
        (("--env",), "env", False),
        (("--traceback",), "traceback", True),
    ):
        if any(opt in taken for opt in opts):
            continue
        cmd.params.append(
            click.Option(
                [o for o in opts if o not in taken],
                is_flag=is_flag,
                default=None if not is_flag else False,
                expose_value=False,
                hidden=True,
                callback=_set_global(name),
            )
        )


def _remember_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[_JSON] = True
    return value


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
    "--json",
    "as_json",
    is_flag=True,
    callback=_remember_json,
    help="Print the result as JSON (for machines; the envelope is described in docs/json.md).",
)


@click.group(
    cls=DbkitGroup,
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
