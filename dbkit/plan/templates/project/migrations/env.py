"""Alembic environment for a dbkit project: `alembic upgrade head` runs the same SQL files.

dbkit's own runner does not use this file. It exists so that Alembic (and tools built on it)
work on the same directory and leave the database exactly as `dbkit migrate` would:

* the URL comes from dbkit's settings (`-x url=...`, then `sqlalchemy.url` in alembic.ini,
  then DBKIT_DATABASE_URL, DATABASE_URL, [tool.dbkit] / dbkit.toml, the embedded server);
* one transaction per migration, as in dbkit;
* every applied step also gets its dbkit.history row (with the checksum of its SQL pair), in
  the step's own transaction, so dbkit's checksum check accepts what Alembic applied.

Offline mode (`alembic upgrade head --sql`) writes the SQL files and the history rows as text;
`dbkit sql` renders the same kind of script without Alembic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from sqlalchemy import create_engine, pool

from dbkit import revision
from dbkit.engine import registry
from dbkit.plan.graph import load_plan
from dbkit.settings import resolve

config = context.config
PROJECT_DIR = Path(context.script.dir).resolve().parent
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """dbkit's URL resolution, with Alembic's own ways of passing a URL on top."""
    given = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    return resolve(PROJECT_DIR, url=given or None).database_url()


def sqlalchemy_url(url: str) -> tuple[str, dict]:
    """``postgresql+psycopg://`` for SQLAlchemy; a libpq key=value string goes as conninfo."""
    if "://" not in url:
        return "postgresql+psycopg://", {"conninfo": url}
    return "postgresql+psycopg://" + url.split("://", 1)[1], {}


class HistoryRecorder:
    """``on_version_apply`` callback writing one dbkit.history row per applied step."""

    def __init__(self) -> None:
        self.plan = load_plan(PROJECT_DIR)
        self.registry_ready = False

    def __call__(self, *, ctx, step, heads, run_args) -> None:
        if step.is_stamp or not step.is_migration:
            return
        direction = "up" if step.is_upgrade else "down"
        migration = self.plan.get(step.up_revision_id)
        started_at, duration_ms = revision.last_runs.pop(
            (migration.revision, direction), (datetime.now(UTC), 0.0)
        )
        params = registry.migration_params(
            migration,
            direction=direction,
            started_at=started_at,
            duration_ms=duration_ms,
            message="applied by alembic",
        )
        if ctx.as_sql:
            from dbkit.plan.render import RUN_TIME_HISTORY, bind

            if not self.registry_ready:
                ctx.impl.static_output(registry.REGISTRY_DDL)
            params.update(RUN_TIME_HISTORY)  # times and client of the run, not of rendering
            ctx.impl.static_output(bind(registry.INSERT_HISTORY, params) + ";")
        else:
            conn = ctx.connection.connection.driver_connection
            if not self.registry_ready:
                conn.execute(registry.REGISTRY_DDL)
            conn.execute(registry.INSERT_HISTORY, params)
        self.registry_ready = True


def run_migrations_offline() -> None:
    # No URL needed (and none resolved, so the embedded server is never started for --sql).
    context.configure(
        dialect_name="postgresql",
        literal_binds=True,
        transaction_per_migration=True,
        on_version_apply=HistoryRecorder(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url, connect_args = sqlalchemy_url(database_url())
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            on_version_apply=HistoryRecorder(),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
