"""``dbkit sql``: the exact script a migration run executes, rendered offline for review.

No database is consulted and nothing heavy is imported (no psycopg, SQLAlchemy, Alembic or the
embedded server), so an engineer can read what will run on a laptop with nothing installed
but dbkit. The script is plain SQL runnable with ``psql -v ON_ERROR_STOP=1 -f`` and builds the
same schema, ``alembic_version`` row and ``dbkit.history`` rows as ``dbkit migrate``:

* a header saying what range it covers and which revision it expects the database at;
* a guard that stops the script when the database is not at the starting revision, then for
  up scripts the registry DDL (idempotent);
* per migration, ``BEGIN``, the timeouts, the SQL file exactly as written, the version row and
  the history row, ``COMMIT``; a non-transactional migration runs its statements one by one
  outside a transaction, then records itself in a transaction of its own.

Values are rendered as SQL literals here in pure Python (strings with ``''`` doubling), since
the point is to avoid importing a driver.
"""

from __future__ import annotations

import re
from typing import Any

from dbkit import __version__
from dbkit.errors import RevisionNotFound, UsageError
from dbkit.plan.graph import Migration, Plan
from dbkit.plan.literals import SqlExpr, literal
from dbkit.plan.preamble import limits_for, preamble, reset
from dbkit.plan.registry_sql import (
    INSERT_HISTORY,
    migration_params,
    registry_ddl,
    version_statement,
    version_table,
)
from dbkit.settings import DEFAULTS

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s")


#: History values a script must take from the server when it runs, not from the machine that
#: rendered it: start of the migration's transaction, time spent so far, the client's address.
RUN_TIME_HISTORY: dict[str, Any] = {
    "started_at": SqlExpr("now()"),
    "duration_ms": SqlExpr("round(extract(epoch FROM clock_timestamp() - now()) * 1000, 3)"),
    "os_user": None,
    "client_host": SqlExpr("host(inet_client_addr())"),
}


def bind(sql: str, params: tuple | list | dict) -> str:
    """Substitute psycopg placeholders (``%s`` / ``%(name)s``) with literals, in one pass."""
    positional = iter(params) if isinstance(params, tuple | list) else None

    def substitute(match: re.Match) -> str:
        if match.group(1) is not None:
            return literal(params[match.group(1)])  # type: ignore[index]
        if positional is None:
            raise TypeError("positional placeholder with named parameters")
        return literal(next(positional))

    return _PLACEHOLDER.sub(substitute, sql)


def terminated(sql_text: str) -> str:
    """The file text as written, plus a ``;`` if its last statement lacks one, so the next
    statement of the script cannot merge into it, and a final newline so a trailing ``--``
    comment cannot swallow it."""
    text = sql_text if sql_text.endswith("\n") else sql_text + "\n"
    from dbkit.plan.sqltext import split

    statements = split(text)
    if statements:
        last = statements[-1]
        rest = text[last.offset + len(last.text) :]
        if not rest.lstrip().startswith(";"):
            text += ";\n"
    return text


def _select(
    plan: Plan, direction: str, from_revision: str | None, to_revision: str | None
) -> tuple[list[Migration], str | None, str | None]:
    """The migrations to render, in execution order, and the resolved (start, end)."""
    if direction not in ("up", "down"):
        raise UsageError(f"direction must be 'up' or 'down', not {direction!r}")
    if not plan.migrations:
        raise UsageError(
            f"{plan.project_dir}: the plan has no migrations to render",
            hint="create one with `dbkit new NAME --phase P`",
        )
    default_from, default_to = ("base", "head") if direction == "up" else ("head", "base")
    start = _resolve(plan, from_revision or default_from, "--from")
    end = _resolve(plan, to_revision or default_to, "--to")
    start_pos, end_pos = plan.position(start), plan.position(end)
    if direction == "up":
        if start_pos >= end_pos:
            raise UsageError(
                f"sql up: --from {_label(start)} must come before --to {_label(end)} in the plan",
                hint="an up script runs forwards; use `dbkit sql down` to go back",
            )
        return plan.between(start_pos, end_pos), start, end
    if start_pos <= end_pos:
        raise UsageError(
            f"sql down: --from {_label(start)} must come after --to {_label(end)} in the plan",
            hint="a down script runs backwards from --from (default head) to --to (default base)",
        )
    return list(reversed(plan.between(end_pos, start_pos))), start, end


def _resolve(plan: Plan, target: str, option: str) -> str | None:
    try:
        return plan.resolve(target)
    except RevisionNotFound as exc:
        raise RevisionNotFound(f"{option}: {exc.message}", hint=exc.hint) from None


def _label(revision: str | None) -> str:
    return "base" if revision is None else revision


def render_script(
    plan: Plan,
    direction: str = "up",
    from_revision: str | None = None,
    to_revision: str | None = None,
    *,
    lock_timeout: str = DEFAULTS["lock_timeout"],
    statement_timeout: str = DEFAULTS["statement_timeout"],
    version_schema: str = "public",
) -> str:
    """The script ``dbkit sql [up|down] [--from REV] [--to REV]`` prints.

    ``from_revision`` / ``to_revision`` accept what the CLI accepts (``base``, ``head``, an id
    or a file name); by default up goes base -> head and down head -> base. The timeouts are
    the project's settings; a migration's own override wins, as in ``dbkit migrate``.
    ``version_schema`` qualifies ``alembic_version`` (``Settings.offline_version_schema``:
    with no connection to ask, ``public`` unless the project sets ``version_schema``).
    """
    migrations, start, end = _select(plan, direction, from_revision, to_revision)
    out: list[str] = [
        f"-- dbkit sql {direction}: {_label(start)} -> {_label(end)} "
        f"({len(migrations)} migration{'s' if len(migrations) != 1 else ''}), "
        f"rendered offline by dbkit {__version__}",
        f"-- Expects the database at revision {_label(start)}; "
        "run with: psql -v ON_ERROR_STOP=1 -f <this file> <database URL>",
        "-- Each migration commits on its own: if one fails, the ones before it stay applied.",
        "",
    ]
    out += [_guard(start, version_schema), ""]
    if direction == "up":
        out += [
            "-- dbkit registry (idempotent)",
            "BEGIN;",
            registry_ddl(version_schema).rstrip("\n"),
            "COMMIT;",
            "",
        ]
    for migration in migrations:
        out += _render_migration(
            migration,
            direction,
            *limits_for(migration, lock_timeout, statement_timeout),
            version_schema,
        )
    out.append(f"-- end of script: the database is now at revision {_label(end)}")
    return "\n".join(out) + "\n"


def _guard(expected: str | None, version_schema: str) -> str:
    """A DO block that stops the script unless alembic_version holds ``expected``."""
    table = version_table(version_schema)
    want = "NULL" if expected is None else literal(expected)
    shown = literal(_label(expected))
    return f"""\
DO $dbkit_guard$
DECLARE
    found text;
BEGIN
    IF to_regclass('{table}') IS NOT NULL THEN
        SELECT string_agg(version_num, ', ') INTO found FROM {table};
    END IF;
    IF found IS DISTINCT FROM {want} THEN
        RAISE EXCEPTION 'dbkit: this script expects the database at revision %, but it is at %',
            {shown}, coalesce(found, 'base');
    END IF;
END
$dbkit_guard$;"""


def _render_migration(
    migration: Migration,
    direction: str,
    lock_timeout: str,
    statement_timeout: str,
    version_schema: str,
) -> list[str]:
    path = migration.relpath(migration.sql_path(direction))
    verb = "apply" if direction == "up" else "roll back"
    title = f"-- {verb} {migration.name} (phase {migration.phase})"
    if migration.description:
        title += f": {migration.description}"
    before, after = (
        (migration.down_revision, migration.revision)
        if direction == "up"
        else (migration.revision, migration.down_revision)
    )
    record = [
        bind(*version_statement(before, after, version_schema)) + ";",
        bind(INSERT_HISTORY, _history(migration, direction)) + ";",
    ]
    sql_text = migration.sql(direction)
    if migration.transactional:
        return [
            title,
            "BEGIN;",
            *preamble(lock_timeout, statement_timeout, local=True),
            f"-- {path}",
            terminated(sql_text).rstrip("\n"),
            f"-- end of {path}",
            *record,
            "COMMIT;",
            "",
        ]
    from dbkit.plan.sqltext import split

    lines = [
        title,
        f"-- {path} is non-transactional: its statements run one by one outside a transaction;",
        "-- if one fails, the statements before it stay applied and the revision is not recorded.",
        *preamble(lock_timeout, statement_timeout, local=False),
    ]
    for statement in split(sql_text):
        lines += [f"-- {path}:{statement.line}", statement.text + ";"]
    lines += [*reset(), "BEGIN;", *record, "COMMIT;", ""]
    return lines


def _history(migration: Migration, direction: str) -> dict[str, Any]:
    """History parameters for a script run: times and client come from the server at run time,
    not from the machine that rendered the script."""
    params = migration_params(
        migration, direction=direction, message="run from a `dbkit sql` script"
    )
    params.update(RUN_TIME_HISTORY)
    return params
