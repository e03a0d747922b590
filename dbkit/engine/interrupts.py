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

Library callers (a program calling :mod:`dbkit.api`) get the same guarantees: every api
function that touches a database runs inside :func:`handled` (installed for the call only,
when it is called from the main thread and the program left both signals at Python's
defaults; restored afterwards) and :func:`working`. A program with threads, or with handlers
of its own, wraps its work in ``with dbkit.api.signals_handled():`` in the main thread.
Signals reach only the main thread, so the handler also interrupts every other thread inside
an api call (fleet targets run in threads): it raises :class:`SignalInterrupt` in that thread
(``PyThreadState_SetAsyncExc``) and cancels the statement its connections run on the server,
so each thread's run undoes its step, writes its ``interrupted`` row and releases its lock as
the main thread's does. In library mode a second signal cancels every connection's statement
and raises again instead of ending the program.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dbkit.errors import ExitCode, Interrupted

if TYPE_CHECKING:
    import psycopg

_connections: weakref.WeakSet = weakref.WeakSet()
_owners: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # connection -> thread id
_received: list[int] = []  # the signals received so far in this process (or handled block)
_last: list[int] = [signal.SIGINT]  # the latest one (kept after a handled block ends)
_active: dict[int, int] = {}  # thread id -> depth of dbkit api calls running in it
_lock = threading.RLock()
_exit_on_second = [True]  # the CLI ends the process on a second signal; a library raises


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


class WorkerInterrupt(SignalInterrupt):
    """The signal the main thread received, raised in another thread inside an api call
    (raised there by class, so it reads the signal from the ones received)."""

    def __init__(self, *args: object) -> None:
        super().__init__(_last[0])


def track(conn: psycopg.Connection) -> None:
    """Remember a connection dbkit opened (and its thread), so that a signal can cancel its
    statement."""
    _connections.add(conn)
    _owners[conn] = threading.get_ident()


def install() -> None:
    """Handle SIGINT and SIGTERM as described in the module docstring (main thread only);
    the CLI's way: for the whole process, and a second signal ends it at once."""
    if threading.current_thread() is not threading.main_thread():
        return
    _exit_on_second[0] = True
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)


def _defaults_in_place() -> bool:
    return signal.getsignal(signal.SIGINT) is signal.default_int_handler and signal.getsignal(
        signal.SIGTERM
    ) in (signal.SIG_DFL, None)


@contextmanager
def handled(*, only_if_default: bool = False) -> Iterator[None]:
    """Handle SIGINT and SIGTERM in the block as the CLI does, then put the previous handlers
    back. Main thread only (elsewhere, and when dbkit's handler is already in place, it does
    nothing). ``only_if_default``: only when the program left both at Python's defaults (the
    automatic install around every api call), never over a program's own handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    current = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    if current == (_handler, _handler) or (only_if_default and not _defaults_in_place()):
        yield
        return
    exit_on_second = _exit_on_second[0]
    _exit_on_second[0] = False
    _received.clear()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, previous in zip((signal.SIGINT, signal.SIGTERM), current, strict=True):
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        _exit_on_second[0] = exit_on_second
        _received.clear()


@contextmanager
def working() -> Iterator[None]:
    """Mark this thread as inside a dbkit api call, so a signal the main thread receives
    interrupts it too (see the module docstring)."""
    ident = threading.get_ident()
    with _lock:
        _active[ident] = _active.get(ident, 0) + 1
    try:
        yield
    finally:
        with _lock:
            _active[ident] -= 1
            if not _active[ident]:
                del _active[ident]
                if ident != threading.main_thread().ident:
                    # an interrupt raised just as the call returned must not reach its caller
                    _set_async(ident, None)


def _set_async(ident: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in thread ``ident`` at its next bytecode (None: withdraw a pending one)."""
    import ctypes  # here, not at import: a status run never needs it

    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), None if exc is None else ctypes.py_object(exc)
    )


def _interrupt_workers(everyone: bool) -> None:
    """Raise the signal in every other thread inside an api call and cancel what their
    connections run (``everyone``: every tracked connection's statement, whichever thread)."""
    main = threading.main_thread().ident
    with _lock:
        workers = {ident for ident in _active if ident != main}
        for ident in workers:
            _set_async(ident, WorkerInterrupt)
    for conn in list(_connections):
        if everyone or _owners.get(conn) in workers:
            _cancel(conn)


def _cancel(conn: psycopg.Connection) -> None:
    try:
        if not conn.closed:
            conn.cancel_safe(timeout=2.0)
    except Exception:  # noqa: BLE001, S110 - best effort: the statement ends with the session
        pass


def _handler(signum: int, frame: object) -> None:
    again = bool(_received)
    if again and _exit_on_second[0]:
        _exit_now(signum)
    _received.append(signum)
    _last[0] = signum
    _interrupt_workers(everyone=again)
    raise SignalInterrupt(signum)


def _exit_now(signum: int) -> None:
    """The second signal: cancel on the server, say so, and end the process at once."""
    for conn in list(_connections):
        _cancel(conn)
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
