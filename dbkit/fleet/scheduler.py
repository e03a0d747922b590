"""Running one job per target on worker threads, within the connection limits.

* at most ``jobs`` targets run at once, and at most ``per_server`` on one server (host:port);
* targets start in the order given, skipping over one whose server is full;
* once ``stop`` is set (an interrupt, ``--max-failures`` reached, a failed canary) no target
  is started any more; running ones finish their job (a migrate job also checks ``stop``
  between migrations and stops there, see :mod:`dbkit.fleet.run`);
* a KeyboardInterrupt in the waiting thread sets ``stop`` and keeps waiting for the running
  targets, so they end cleanly instead of being torn down in the middle of a statement.

Threads are enough: a target's time is spent in PostgreSQL, and psycopg releases the GIL
while it waits for the server.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


class Scheduler:
    def __init__(
        self,
        *,
        jobs: int,
        per_server: int,
        stop: threading.Event,
        max_failures: int | None = None,
    ) -> None:
        self.jobs = max(1, jobs)
        self.per_server = max(1, per_server)
        self.stop = stop
        self.max_failures = max_failures
        self.failures = 0
        self.peak: Counter[str] = Counter()  # most connections held at once, per server
        self.stop_reason: str | None = None

    def run(
        self,
        items: Sequence[T],
        job: Callable[[T], bool],
        server: Callable[[T], str],
    ) -> list[T]:
        """Run ``job(item)`` for the items (True = it failed); returns those never started."""
        pending = list(items)
        running: dict[int, threading.Thread] = {}
        busy: Counter[str] = Counter()
        done = threading.Condition()

        def work(key: int, item: T, where: str) -> None:
            failed = True
            try:
                failed = job(item)
            finally:
                with done:
                    busy[where] -= 1
                    running.pop(key, None)
                    if failed:
                        self.failures += 1
                        if self.max_failures is not None and self.failures >= self.max_failures:
                            self.halt(f"{self.failures} targets failed (--max-failures)")
                    done.notify_all()

        key = 0
        while True:
            try:
                with done:
                    if not self.stop.is_set():
                        index = 0
                        while index < len(pending) and len(running) < self.jobs:
                            where = server(pending[index])
                            if busy[where] >= self.per_server:
                                index += 1
                                continue
                            item = pending.pop(index)
                            busy[where] += 1
                            self.peak[where] = max(self.peak[where], busy[where])
                            key += 1
                            thread = threading.Thread(
                                target=work, args=(key, item, where), daemon=True
                            )
                            running[key] = thread
                            thread.start()
                    if not running and (not pending or self.stop.is_set()):
                        break
                    done.wait(timeout=0.2)
            except KeyboardInterrupt as exc:  # a library caller's signal (the CLI sets stop)
                if not hasattr(self.stop, "signum"):
                    self.stop.signum = getattr(exc, "signum", signal.SIGINT)  # 130 or 143
                self.halt("interrupted")
        return pending if self.stop.is_set() else []

    def halt(self, reason: str) -> None:
        if not self.stop.is_set():
            self.stop_reason = reason
        self.stop.set()
