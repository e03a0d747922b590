"""Ctrl-C (SIGINT) and SIGTERM: a failure of the running step, never a silent exit.

:func:`install` (the CLI calls it once, in the main thread) makes both signals raise
:class:`SignalInterrupt`, a ``KeyboardInterrupt``: psycopg then cancels the running statement
on the server and waits for it to stop, and the engine's handlers do what any failure does
(roll back the open transaction, undo a started non-transactional migration and drop the
invalid index it left, write a history row, release the lock, drop scratch databases) and
raise :class:`dbkit.errors.Interrupted`, which says what state the database is in and exits
130 (SIGINT) or 143 (SIGTERM).

A second signal while that cleanup runs exits at once: it asks the server to cancel whatever
the tracked connections are running (the server rolls back their transactions when the
process's connections close) and ends the process with the same exit code.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import weakref
from typing import TYPE_CHECKING

from dbkit.errors import ExitCode, Interrupted

if TYPE_CHECKING:
    import psycopg

_connections: weakref.WeakSet = weakref.WeakSet()
_received: list[int] = []  # the signals received so far in this process


class SignalInterrupt(KeyboardInterrupt):  # noqa: N818 - a KeyboardInterrupt, on purpose
    """SIGINT or SIGTERM arrived; a ``KeyboardInterrupt`` so that psycopg cancels the
    statement in progress and ``except Exception`` never swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"{signal.Signals(signum).name} received")
        self.signum = signum
        self.exit_code = exit_code_of(signum)


def exit_code_of(signum: int) -> int:
    """130 for SIGINT, 143 for SIGTERM (128 + the signal number, as shells report it)."""
    if signum == signal.SIGTERM:
        return int(ExitCode.TERMINATED)
    if signum == signal.SIGINT:
        return int(ExitCode.INTERRUPTED)
    return 128 + signum


def track(conn: psycopg.Connection) -> None:
    """Remember a connection dbkit opened, so that a second signal can cancel its statement."""
    _connections.add(conn)


def install() -> None:
    """Handle SIGINT and SIGTERM as described in the module docstring (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)


def _handler(signum: int, frame: object) -> None:
    if _received:
        _exit_now(signum)
    _received.append(signum)
    raise SignalInterrupt(signum)


def _exit_now(signum: int) -> None:
    """The second signal: cancel on the server, say so, and end the process at once."""
    for conn in list(_connections):
        try:
            if not conn.closed:
                conn.cancel_safe(timeout=2.0)
        except Exception:  # noqa: BLE001, S110 - exiting anyway; the server ends the session
            pass
    name = signal.Signals(signum).name
    sys.stderr.write(
        f"dbkit: error: interrupted again ({name}): exiting at once; the server cancels the "
        "running statement and rolls back the open transaction as the connection closes; "
        "run `dbkit status` to see where the database is\n"
    )
    sys.stderr.flush()
    os._exit(exit_code_of(signum))


def signal_of(exc: BaseException) -> int:
    """The signal behind an interrupt (a plain KeyboardInterrupt is SIGINT)."""
    if isinstance(exc, Interrupted):
        return signal.SIGTERM if int(exc.exit_code) == ExitCode.TERMINATED else signal.SIGINT
    return getattr(exc, "signum", signal.SIGINT)


def interrupted(exc: BaseException, what: str, state: str) -> Interrupted:
    """The error for an interrupt that stopped ``what``, leaving the database in ``state``."""
    signum = signal_of(exc)
    name = signal.Signals(signum).name
    return Interrupted(
        f"interrupted by {name} during {what}: {state}", exit_code=exit_code_of(signum)
    )
