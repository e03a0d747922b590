"""The body of a dbkit project's Alembic environment: `alembic upgrade head` runs the same SQL.

A project's ``migrations/env.py`` is a two-line shim over :func:`run` (as revision files are
over :func:`dbkit.revision.sql_pair`), so every project gets this module's fixes with dbkit
itself. dbkit's own runner does not use it; it exists so that Alembic (and tools built on it)
work on the same directory and leave the database exactly as `dbkit migrate` would:

* the URL comes from dbkit's settings (`-x url=...`, then `sqlalchemy.url` in alembic.ini,
  then DBKIT_DATABASE_URL, DATABASE_URL, [tool.dbkit] / dbkit.toml, the embedded server);
* one transaction per migration, as in dbkit;
* every applied step also gets its dbkit.history row (with the checksum of its SQL pair), in
  the step's own transaction, so dbkit's checksum check accepts what Alembic applied.

Offline mode (`alembic upgrade head --sql`) writes the SQL files and the history rows as text;
`dbkit sql` renders the same kind of script without Alembic. Alembic and SQLAlchemy are
imported only when :func:`run` is called (by Alembic, which has imported them already).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def run() -> None:
    """Run the migrations Alembic asks for, online or offline (``--sql``)."""
    from logging.config import fileConfig

    from alembic import context

    config = context.config
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    project_dir = Path(context.script.dir).resolve().parent
    if context.is_offline_mode():
        _run_offline(context, project_dir)
    else:
        _run_online(context, project_dir)


def _settings(context: Any, project_dir: Path, *, need_url: bool = True) -> Any:
    """dbkit's settings, with Alembic's own ways of passing a URL on top."""
    from dbkit.settings import resolve

    given = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    return resolve(project_dir, url=given or None, need_url=need_url)


def _version_schema(connection: Any, settings: Any) -> str:
    """The schema of ``alembic_version``, settled as dbkit's own connections settle it (the
    setting, else where the table is, else ``public``), for Alembic's version_table_schema
    and dbkit's history rows alike."""
    from dbkit.engine.database import _SETTLE_VERSION_SCHEMA, checked_version_schema

    if settings.version_table_schema is not None:
        return settings.version_table_schema
    found = connection.exec_driver_sql(_SETTLE_VERSION_SCHEMA).scalar()
    connection.commit()  # Alembic opens each migration's transaction itself
    return checked_version_schema(found, settings)


def sqlalchemy_url(url: str) -> tuple[str, dict]:
    """``postgresql+psycopg://`` for SQLAlchemy; a libpq key=value string goes as conninfo."""
    if "://" not in url:
        return "postgresql+psycopg://", {"conninfo": url}
    return "postgresql+psycopg://" + url.split("://", 1)[1], {}


class HistoryRecorder:
    """``on_version_apply`` callback writing one dbkit.history row per applied step."""

    def __init__(self, project_dir: Path, version_schema: str) -> None:
        from dbkit.plan.graph import load_plan

        self.plan = load_plan(project_dir)
        self.version_schema = version_schema
        self.registry_ready = False

    def __call__(self, *, ctx, step, heads, run_args) -> None:
        from dbkit import revision
        from dbkit.plan.registry_sql import INSERT_HISTORY, migration_params, registry_ddl

        if step.is_stamp or not step.is_migration:
            return
        direction = "up" if step.is_upgrade else "down"
        migration = self.plan.get(step.up_revision_id)
        started_at, duration_ms = revision.last_runs.pop(
            (migration.revision, direction), (datetime.now(UTC), 0.0)
        )
        params = migration_params(
            migration,
            direction=direction,
            started_at=started_at,
            duration_ms=duration_ms,
            message="applied by alembic",
        )
        if ctx.as_sql:
            from dbkit.plan.render import RUN_TIME_HISTORY, bind

            if not self.registry_ready:
                ctx.impl.static_output(registry_ddl(self.version_schema))
            params.update(RUN_TIME_HISTORY)  # times and client of the run, not of rendering
            ctx.impl.static_output(bind(INSERT_HISTORY, params) + ";")
        else:
            conn = ctx.connection.connection.driver_connection
            if not self.registry_ready:
                conn.execute(registry_ddl(self.version_schema))
            conn.execute(INSERT_HISTORY, params)
        self.registry_ready = True


def _run_offline(context: Any, project_dir: Path) -> None:
    # No URL needed (and none resolved, so the embedded server is never started for --sql).
    version_schema = _settings(context, project_dir, need_url=False).offline_version_schema
    context.configure(
        dialect_name="postgresql",
        literal_binds=True,
        transaction_per_migration=True,
        version_table_schema=version_schema,
        on_version_apply=HistoryRecorder(project_dir, version_schema),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online(context: Any, project_dir: Path) -> None:
    from sqlalchemy import create_engine, pool

    settings = _settings(context, project_dir)
    url, connect_args = sqlalchemy_url(settings.database_url())
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    with engine.connect() as connection:
        version_schema = _version_schema(connection, settings)
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            version_table_schema=version_schema,
            on_version_apply=HistoryRecorder(project_dir, version_schema),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
