"""Throwaway databases for ``dbkit verify`` and ``dbkit drift``.

:func:`scratch_database` creates an empty database on the server a URL points at (the URL's
own database is only used to connect), yields it, and drops it on the way out, whatever
happened: a scratch database is never left behind by a run that ends normally or with an
error. Scratch databases are cloned from ``template0``, so they hold exactly what
PostgreSQL itself puts in a new database, and are named ``<prefix>_<random>``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from dbkit.engine import database
from dbkit.engine.database import one_line
from dbkit.errors import ScratchDatabaseError
from dbkit.secrets import mask_url, scrub
from dbkit.settings import Settings

INSUFFICIENT_PRIVILEGE = "42501"


@dataclass(frozen=True)
class ScratchDatabase:
    name: str
    url: str  # connection string of the scratch database (holds the password: never print)
    server: str  # the server's URL with the password masked, for messages


def database_url(server_url: str, dbname: str) -> str:
    """``server_url`` pointed at another database (URL or key=value form)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(server_url, dbname=dbname)


@contextmanager
def scratch_database(
    server_url: str,
    settings: Settings | None = None,
    *,
    prefix: str = "dbkit_scratch",
    purpose: str = "dbkit",
    hint: str | None = None,
) -> Iterator[ScratchDatabase]:
    """Create an empty database on ``server_url``'s server, yield it, then drop it."""
    import psycopg
    from psycopg import sql

    admin = database.connect(server_url, settings)
    name = f"{prefix}_{secrets.token_hex(4)}"
    server = mask_url(server_url)
    try:
        try:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        except psycopg.Error as exc:
            role = admin.info.user
            if getattr(exc, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
                message = (
                    f"role {role} may not create databases on {server}: {purpose} needs a "
                    "throwaway database there"
                )
            else:
                message = (
                    f"cannot create a throwaway database for {purpose} on {server}: "
                    f"{one_line(scrub(str(exc), server_url))}"
                )
            raise ScratchDatabaseError(
                message, hint=hint or f"grant CREATEDB to {role}, or use another server"
            ) from None
        failure: BaseException | None = None
        try:
            yield ScratchDatabase(name, database_url(server_url, name), server)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            _drop(admin, name, server, server_url, quiet=failure is not None)
    finally:
        with suppress(Exception):
            admin.close()


def _drop(admin, name: str, server: str, server_url: str, *, quiet: bool) -> None:
    import psycopg
    from psycopg import sql

    try:
        # FORCE ends any connection a failed run left open (PostgreSQL 13+; dbkit needs 15).
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    except psycopg.Error as exc:
        if quiet:  # the error already on its way out matters more
            return
        raise ScratchDatabaseError(
            f"could not drop the throwaway database {name} on {server}: "
            f"{one_line(scrub(str(exc), server_url))}",
            hint=f"drop it by hand: DROP DATABASE {name} WITH (FORCE)",
        ) from None
