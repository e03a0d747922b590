"""The errors a DBA reads when a migration or a check fails: what, where, and what state
the database was left in. Built in one place so every path words them the same way.
"""

from __future__ import annotations

from dbkit.engine.database import one_line
from dbkit.engine.steps import Step
from dbkit.errors import MigrationFailed, ValidationFailed
from dbkit.plan.checks import CheckResult, describe_failures
from dbkit.plan.sqltext import Statement

LOCK_NOT_AVAILABLE = "55P03"


def migration_failed(
    step: Step,
    statement: Statement | None,
    exc: Exception,
    *,
    notes: list[str],
    lock_timeout: str,
    lock_retries: int,
    blockers: list[str] | None = None,
    done: list[Statement] | None = None,
    statements: list[Statement] | None = None,
    undone: bool = True,
    offset: int = 0,
) -> MigrationFailed:
    """The error for a failed migration step.

    ``statement`` is where it failed (``offset``: what was sent in front of it, to subtract
    from the server's error position); ``done``/``statements`` describe a non-transactional
    migration's progress, ``undone`` whether dbkit could undo it; ``blockers`` name the
    sessions holding the lock a ``lock_timeout`` waited for.
    """
    blockers = blockers or []
    migration = step.migration
    path = migration.relpath(migration.sql_path(step.direction))
    diag = getattr(exc, "diag", None)
    primary = one_line((diag.message_primary if diag else None) or str(exc))
    location = path
    failing = statement
    if statement is not None:
        position = diag.statement_position if diag else None
        within = int(position) - offset if position else None
        error_line = statement.line_at(within)
        location = f"{path}:{error_line}"
        failing = _statement_at(step, statement, error_line)
    sqlstate = getattr(exc, "sqlstate", None)
    detail = _server_report(diag, sqlstate, failing, path)
    if sqlstate == LOCK_NOT_AVAILABLE and statement is not None:
        targets = ", ".join(statement.relations) or "its objects"
        primary = (
            f"lock_timeout ({lock_timeout}) waiting for a lock on {targets} "
            f"after {lock_retries} retries"
            + (f"; blocked by {'; '.join(blockers)}" if blockers else "")
        )
    verb = "migration" if step.direction == "up" else "rollback"
    message = f"{verb} {migration.name} failed at {location}: {primary}{detail}"
    if migration.transactional or statements is None:
        message += "; nothing of it was applied" if step.direction == "up" else ""
        if step.direction == "down":
            message += "; it stays applied"
    else:
        ran = len(done or [])
        message += f"; it runs outside a transaction: {ran} of {len(statements)} statements had run"
        if undone:
            message += ", and were undone" if ran else ""
        else:
            message += ", and undoing them failed: the database is between revisions"
    if notes:
        message += f" [{'; '.join(notes)}]"
    return MigrationFailed(
        message,
        revision=migration.revision,
        location=location,
        sqlstate=sqlstate,
        done=[s.summary for s in (done or [])],
        not_done=[s.summary for s in (statements or [])[len(done or []) :]],
        undone=undone,
        hint=None
        if undone
        else "fix the cause, then run `dbkit migrate` again (the files are idempotent)",
    )


def _statement_at(step: Step, statement: Statement, line: int) -> Statement:
    """The statement of the file holding ``line`` when ``statement`` is the whole file (the
    file went to the server in one query)."""
    from dbkit.plan import sqltext

    sql = step.migration.sql(step.direction)
    if statement.text != sql:
        return statement
    found = statement
    for each in sqltext.split(sql):
        if each.line > line:
            break
        found = each
    return found


def _server_report(diag, sqlstate: str | None, statement: Statement | None, path: str) -> str:
    """What psql shows of a failed statement, on one line: SQLSTATE, DETAIL, HINT, CONTEXT
    (a function's), and the statement's first line with ``file:line`` of its start."""
    parts = []
    if sqlstate:
        parts.append(f"SQLSTATE {sqlstate}")
    for label, value in (
        ("DETAIL", getattr(diag, "message_detail", None)),
        ("HINT", getattr(diag, "message_hint", None)),
        ("CONTEXT", ((getattr(diag, "context", None) or "").strip().splitlines() or [""])[0]),
    ):
        if value and value.strip():
            parts.append(f"{label}: {one_line(value).rstrip('.')}")
    if statement is not None:
        parts.append(f"statement at {path}:{statement.line}: {statement.summary}")
    return f" ({'; '.join(parts)})" if parts else ""


def validation_failed(
    failed: list[CheckResult], outcome: str, notes: list[str] | None = None
) -> ValidationFailed:
    """One error naming every failed check, where it is, what it found, and what was done."""
    message = f"{failed[0].when} failed: {describe_failures(failed)}; {outcome}"
    if notes:
        message += f" [{'; '.join(notes)}]"
    error = ValidationFailed(message)
    error.results = list(failed)
    return error
