"""What a revision file's ``upgrade, downgrade = sql_pair(__file__)`` does under Alembic.

dbkit's own runner never imports revision files (it reads them with :mod:`ast`); this module
exists so that ``alembic upgrade`` / ``alembic downgrade`` on the same directory run the very
same SQL files. It imports nothing heavy at import time: Alembic imports every revision module
just to build its graph, and each pays for this module.

The SQL goes through the raw psycopg connection without parameters, so the file runs exactly
as written: SQLAlchemy's ``text()`` would take ``:name`` for a bind parameter and psycopg with
parameters would take ``%`` for a placeholder. In offline mode (``alembic upgrade --sql``) the
file text is written to the output unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

#: (revision, direction) -> (started_at, duration_ms) of the last run in this process, read by
#: migrations/env.py to fill the dbkit.history row of the step it just applied.
last_runs: dict[tuple[str, str], tuple[datetime, float]] = {}


def sql_pair(revision_file: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """``(upgrade, downgrade)`` running ``sql/<name>.sql`` and ``rollbacks/<name>.sql``.

    ``revision_file`` is the revision module's ``__file__``; the project directory is the one
    holding ``migrations/versions/``. The options (``transactional``, timeouts) are read from the
    file the same way dbkit's runner reads them, so both paths agree.
    """
    path = Path(revision_file).resolve()
    project_dir = path.parent.parent.parent

    def upgrade() -> None:
        _run(path, project_dir, "up")

    def downgrade() -> None:
        _run(path, project_dir, "down")

    upgrade.__doc__ = f"Run sql/{path.stem}.sql (dbkit SQL pair)."
    downgrade.__doc__ = f"Run rollbacks/{path.stem}.sql (dbkit SQL pair)."
    return upgrade, downgrade


def _run(path: Path, project_dir: Path, direction: str) -> None:
    from alembic import op

    from dbkit.plan.graph import parse_revision_file
    from dbkit.settings import DEFAULTS, read_project_config

    migration = parse_revision_file(path, project_dir)
    # Only the timeouts are needed: reading the URL settings here could fail on an unrelated
    # DATABASE_URL, and Alembic already has its connection.
    config = read_project_config(project_dir)
    lock_timeout = migration.lock_timeout or str(
        config.get("lock_timeout", DEFAULTS["lock_timeout"])
    )
    statement_timeout = migration.statement_timeout or str(
        config.get("statement_timeout", DEFAULTS["statement_timeout"])
    )
    sql_text = migration.sql(direction)
    context = op.get_context()
    started_at = datetime.now(UTC)
    start = time.perf_counter()

    if context.as_sql:
        _emit_offline(context, migration, sql_text, lock_timeout, statement_timeout)
    elif migration.transactional:
        conn = op.get_bind().connection.driver_connection
        _set_timeouts(conn, lock_timeout, statement_timeout, local=True)
        conn.execute(sql_text)
    else:
        from dbkit.plan.sqltext import split

        with context.autocommit_block():
            conn = op.get_bind().connection.driver_connection
            _set_timeouts(conn, lock_timeout, statement_timeout, local=False)
            try:
                for statement in split(sql_text):
                    conn.execute(statement.text)
            finally:
                conn.execute("RESET lock_timeout")
                conn.execute("RESET statement_timeout")

    last_runs[(migration.revision, direction)] = (
        started_at,
        (time.perf_counter() - start) * 1000.0,
    )


def _set_timeouts(conn, lock_timeout: str, statement_timeout: str, *, local: bool) -> None:
    """The same limits dbkit's runner sets: per transaction, or per session around a
    non-transactional migration (reset afterwards)."""
    conn.execute(
        "SELECT set_config('lock_timeout', %s, %s), set_config('statement_timeout', %s, %s)",
        (lock_timeout, local, statement_timeout, local),
    )


def _emit_offline(context, migration, sql_text: str, lock_timeout: str, statement_timeout: str):
    """Write the SQL as text for ``alembic ... --sql`` (same shape as ``dbkit sql``)."""
    from dbkit.plan.render import literal, terminated

    out = context.impl.static_output
    if migration.transactional:
        out(f"SET LOCAL lock_timeout = {literal(lock_timeout)};")
        out(f"SET LOCAL statement_timeout = {literal(statement_timeout)};")
        out(terminated(sql_text))
        return
    from dbkit.plan.sqltext import split

    with context.autocommit_block():
        out(f"-- {migration.name}: non-transactional, runs outside a transaction")
        out(f"SET lock_timeout = {literal(lock_timeout)};")
        out(f"SET statement_timeout = {literal(statement_timeout)};")
        for statement in split(sql_text):
            out(statement.text + ";")
        out("RESET lock_timeout;")
        out("RESET statement_timeout;")
