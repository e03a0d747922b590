"""A migration's preamble: the one renderer of the session limits a migration runs under.

dbkit's runner, ``dbkit sql``, ``dbkit show`` and the Alembic path (online and ``--sql``) all
take the statements from here, so what a DBA reads in a script is what the runner sends:

* a transactional migration: ``SET LOCAL lock_timeout = ...; SET LOCAL statement_timeout =
  ...;`` right after ``BEGIN`` (they end with the transaction);
* a non-transactional one: the same without ``LOCAL`` before its first statement, and
  :func:`reset` after its last.

The values come from :meth:`dbkit.settings.Settings.limits` (the revision file's own, else the
project's, else the defaults) and are quoted by :func:`dbkit.plan.literals.literal`.
"""

from __future__ import annotations

from dbkit.plan.literals import literal

#: the session settings a preamble sets, in order
LIMITS = ("lock_timeout", "statement_timeout")


def limits_for(migration: object, lock_timeout: str, statement_timeout: str) -> tuple[str, str]:
    """``(lock_timeout, statement_timeout)`` for ``migration``: its revision file's own values
    (``lock_timeout = "..."`` in the revision), else the given project-wide ones."""
    return (
        getattr(migration, "lock_timeout", None) or lock_timeout,
        getattr(migration, "statement_timeout", None) or statement_timeout,
    )


def preamble(lock_timeout: str, statement_timeout: str, *, local: bool) -> list[str]:
    """The statements setting a migration's limits, one per line, each ending in ``;``."""
    scope = "SET LOCAL" if local else "SET"
    values = (lock_timeout, statement_timeout)
    return [
        f"{scope} {name} = {literal(value)};" for name, value in zip(LIMITS, values, strict=True)
    ]


def reset() -> list[str]:
    """The statements undoing a non-transactional migration's :func:`preamble`."""
    return [f"RESET {name};" for name in LIMITS]


def preamble_sql(lock_timeout: str, statement_timeout: str, *, local: bool) -> str:
    """:func:`preamble` as one string to send (``"SET LOCAL ...; SET LOCAL ...;"``)."""
    return " ".join(preamble(lock_timeout, statement_timeout, local=local))


def reset_sql() -> str:
    return " ".join(reset())
