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
    from dbkit.settings import resolve

    migration = parse_revision_file(path, project_dir)
    # The one resolver, without the URL sources: Alembic already has its connection, and an
    # unrelated DATABASE_URL must not fail the run.
    lock_timeout, statement_timeout = resolve(project_dir, need_url=False).limits(migration)
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
                from dbkit.plan.preamble import reset_sql

                conn.execute(reset_sql())

    last_runs[(migration.revision, direction)] = (
        started_at,
        (time.perf_counter() - start) * 1000.0,
    )


def _set_timeouts(conn, lock_timeout: str, statement_timeout: str, *, local: bool) -> None:
    """The same limits dbkit's runner sets: per transaction, or per session around a
    non-transactional migration (reset afterwards)."""
    from dbkit.plan.preamble import preamble_sql

    conn.execute(preamble_sql(lock_timeout, statement_timeout, local=local))


def _emit_offline(context, migration, sql_text: str, lock_timeout: str, statement_timeout: str):
    """Write the SQL as text for ``alembic ... --sql`` (same shape as ``dbkit sql``)."""
    from dbkit.plan.preamble import preamble, reset
    from dbkit.plan.render import terminated

    out = context.impl.static_output
    if migration.transactional:
        for line in preamble(lock_timeout, statement_timeout, local=True):
            out(line)
        out(terminated(sql_text))
        return
    from dbkit.plan.sqltext import split

    with context.autocommit_block():
        out(f"-- {migration.name}: non-transactional, runs outside a transaction")
        for line in preamble(lock_timeout, statement_timeout, local=False):
            out(line)
        for statement in split(sql_text):
            out(statement.text + ";")
        for line in reset():
            out(line)
