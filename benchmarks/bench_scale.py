"""The safety workflow's own cost as the data grows, on the unified schema filled by dbkit synth.

For each size (``--scales``, dbkit synth's --scale): a fresh database from a migrated template,
filled with ``dbkit synth``, then

1. per phase, the phase snapshot as it was (every table counted) and as it is now (only the
   tables the phase can reach counted, the rest from the catalog), in milliseconds;
2. the whole validation suite: every check of every file (migration and phase pre/post checks,
   schema-wide checks), run read-only, in seconds;
3. the key queries (validations/phases/*.perf.sql), each timed as the guard times it.

    .venv/bin/python benchmarks/bench_scale.py [--scales 100,1000,10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from bench_migrate import machine_info  # noqa: E402
from bench_synth import WORK, Server, child_env, dbkit_bin  # noqa: E402


def measure(url: str) -> dict:
    import psycopg

    from dbkit.engine import guard, preserve
    from dbkit.engine.workflow import CheckBook
    from dbkit.plan.checks import run_check
    from dbkit.plan.graph import load_plan

    plan = load_plan(REPO)
    book = CheckBook(plan)
    out: dict = {"phases": []}
    with psycopg.connect(url, autocommit=True) as conn:
        out["rows"] = conn.execute(
            "SELECT sum(reltuples)::bigint FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchone()[0]
        for phase in plan.phases:
            first, last = plan.phase_span(phase)
            texts = [t for m in plan.migrations[first : last + 1] for t in (m.up_sql, m.down_sql)]
            pre = book.phase_file(phase, "pre")
            t0 = time.perf_counter()
            old = preserve.take(conn, phase, pre.preserve)
            t1 = time.perf_counter()
            new = preserve.take(conn, phase, pre.preserve, texts)
            t2 = time.perf_counter()
            out["phases"].append(
                {
                    "phase": phase,
                    "count_all_ms": round((t1 - t0) * 1000, 1),
                    "reachable_only_ms": round((t2 - t1) * 1000, 1),
                    "tables": len(old.tables),
                    "counted": sum(1 for s in new.tables.values() if s.exact),
                }
            )
        checks = []
        for migration in plan.migrations:
            checks += book.file(migration.pre_check_path).checks
            checks += book.file(migration.post_check_path).checks
        for phase in plan.phases:
            checks += book.phase_file(phase, "pre").checks
            checks += book.phase_file(phase, "post").checks
        conn.execute("BEGIN READ ONLY")
        t0 = time.perf_counter()
        slowest = []
        for check in checks:
            c0 = time.perf_counter()
            run_check(conn, check)
            slowest.append(((time.perf_counter() - c0) * 1000, check.name))
        out["validation_suite_s"] = round(time.perf_counter() - t0, 2)
        out["checks"] = len(checks)
        out["slowest_checks_ms"] = [(round(ms, 1), n) for ms, n in sorted(slowest)[-5:]]
        conn.execute("ROLLBACK")
        perf = []
        timed = set()
        for phase in plan.phases:
            for check in book.phase_file(phase, "perf").checks:
                if check.name in timed or guard.missing_relations(conn, check):
                    continue
                timed.add(check.name)
                perf.append((round(guard.measure(conn, check).median_ms, 2), check.name))
        out["key_queries_median_ms"] = perf
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="100,1000,10000")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    server = Server(fast=False)
    results: dict = {"machine": machine_info(server.version()), "sizes": []}
    try:
        server.sql("CREATE DATABASE scale_tpl")
        subprocess.run(
            [dbkit_bin(), "--url", server.url("scale_tpl"), "--project", str(REPO), "migrate"],
            check=True,
            capture_output=True,
            env=child_env(),
        )
        for n, scale in enumerate(int(x) for x in args.scales.split(",")):
            db = f"scale_{n}"
            server.sql(f"CREATE DATABASE {db} TEMPLATE scale_tpl")
            t0 = time.perf_counter()
            subprocess.run(
                [dbkit_bin(), "--url", server.url(db), "--project", str(REPO), "synth"]
                + ["--scale", str(scale), "--seed", "1", "--json"],
                check=True,
                capture_output=True,
                env=child_env(),
            )
            load_s = time.perf_counter() - t0
            size = {"scale": scale, "load_s": round(load_s, 1), **measure(server.url(db))}
            results["sizes"].append(size)
            server.sql(f"DROP DATABASE {db}")
            print(json.dumps({k: v for k, v in size.items() if k != "phases"}), file=sys.stderr)
    finally:
        server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for size in results["sizes"]:
        all_ms = sum(p["count_all_ms"] for p in size["phases"])
        new_ms = sum(p["reachable_only_ms"] for p in size["phases"])
        print(
            f"scale {size['scale']}: {size['rows']} rows; snapshots over all phases "
            f"{all_ms:.0f} ms (count all) -> {new_ms:.0f} ms (reachable only); validation "
            f"suite {size['validation_suite_s']} s for {size['checks']} checks"
        )


if __name__ == "__main__":
    main()
