"""Where a ``dbkit synth`` load spends its CPU, table by table: dbkit's generator and COPY
(this process's CPU time) against the server backend that ingests the rows (its utime + stime
from /proc, read before and after each table), bulk mode or not.

Runs the real loader in-process against a database you give it (at the unified schema's head,
empty or not; the load commits like ``dbkit synth``):

    .venv/bin/python benchmarks/synth_split.py URL --scale 20000 [--bulk auto|on|off] [--top 30]
        [--no-analyze]

The server must run on this machine (the backend's CPU is read from /proc/PID/stat). The
per-table dbkit column is this process's CPU while that table was sent; the generator thread
runs up to 16 blocks ahead, so near a table's start it includes the next table's first blocks
(the totals are exact). With ``--no-analyze`` the post-commit ANALYZE is skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from dbkit.synth import catalog, loader, profiles  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--scale", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bulk", choices=("auto", "on", "off"), default="auto")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--no-analyze", dest="analyze", action="store_false")
    args = parser.parse_args()
    bulk = {"auto": None, "on": True, "off": False}[args.bulk]
    split: list[tuple[str, int, float, float, bool]] = []
    original = loader._load

    def timed(conn, plan, progress, *more):
        pid = conn.info.backend_pid
        server0, client0 = backend_cpu(pid), time.process_time()
        result = original(conn, plan, progress, *more)
        split.append(
            (
                plan.table.qualified,
                plan.rows,
                time.process_time() - client0,
                backend_cpu(pid) - server0,
                result.bulk,
            )
        )
        return result

    loader._load = timed
    with psycopg.connect(args.url, autocommit=True) as conn:
        pid = conn.info.backend_pid
        server0, client0, wall0 = backend_cpu(pid), time.process_time(), time.perf_counter()
        tables = catalog.read_tables(conn)
        chosen = profiles.load(REPO, None)
        loads = loader.run(
            conn,
            tables,
            chosen,
            scale=args.scale,
            rows={},
            seed=args.seed,
            ttl=timedelta(days=7),
            bulk=bulk,
        )
        server = backend_cpu(pid) - server0
        client = time.process_time() - client0
        wall = time.perf_counter() - wall0
        analyzed = ""
        if args.analyze:
            # as dbkit synth does after the commit: two sessions, largest tables first
            with psycopg.connect(args.url, autocommit=True) as other:
                pids = (pid, other.info.backend_pid)
                cpu0, wall1 = sum(backend_cpu(p) for p in pids), time.perf_counter()
                loader.analyze([conn, other], loads)
                cpu = sum(backend_cpu(p) for p in pids) - cpu0
            analyzed = (
                f"\nANALYZE after the commit (2 sessions): wall {time.perf_counter() - wall1:.1f}s"
                f"  server CPU {cpu:.2f}s"
            )
    rows = sum(r[1] for r in split)
    print(
        f"rows {rows}  wall {wall:.1f}s  dbkit CPU {client:.2f}s ({rows / client:,.0f} rows/s)  "
        f"server CPU {server:.2f}s ({rows / server:,.0f} rows/s)  "
        f"CPU-bound {rows / max(client, server):,.0f} rows/s  bulk={args.bulk}{analyzed}"
    )
    print(f"{'table':<28} {'rows':>9} {'dbkit s':>8} {'us/row':>7} {'server s':>9} {'us/row':>7}")
    for name, n, c, s, b in sorted(split, key=lambda r: -r[3])[: args.top]:
        print(
            f"{name:<28} {n:>9} {c:>8.2f} {c / n * 1e6:>7.1f} {s:>9.2f} {s / n * 1e6:>7.1f}"
            + ("  bulk" if b else "")
        )


if __name__ == "__main__":
    main()
