"""The unified schema's validation suite and key queries, check by check, on a filled database.

Issue 8: the full pre/post validation suite of the unified schema on 10M rows in at most 10 s.
Given a database filled by ``dbkit synth`` (``--url``, e.g. a copy of the shared 10M template),
this runs every check of the suite the way ``dbkit migrate``/``validate`` runs it
(:func:`dbkit.engine.runner.run_check`: read-only, counting the offending rows), in one
read-only transaction, and times each; every check slower than ``--explain-ms`` is run once
more under ``EXPLAIN (ANALYZE, BUFFERS)`` to record its plan's whole-relation reads and buffers.
Then each key query (validations/phases/*.perf.sql) is timed as the performance guard times it.

``--before REV`` runs the suite of the validation files at git revision REV too (same data,
same run), so the JSON holds the before/after totals side by side.

The suite: for every migration its pre/post files, for every phase its pre/post files with the
shared ``_every`` checks (as bench_scale.py counts it: what a full migrate from base runs).

    .venv/bin/python benchmarks/bench_checks.py --url URL [--before 1676303] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from bench_migrate import machine_info  # noqa: E402


def suite(root: Path) -> list:
    """Every check a migrate from base to head runs, from the validation files under
    ``root`` (the repository, or an older revision's files)."""
    from dbkit.plan.checks import EVERY_PHASE, parse_check_file
    from dbkit.plan.graph import load_plan

    plan = load_plan(REPO)
    validations = root / "validations"
    phases = validations / "phases"
    checks = []
    for migration in plan.migrations:
        for side in ("pre", "post"):
            path = validations / f"{migration.name}.{side}.sql"
            checks += [(f"{side} {migration.name}", c) for c in parse_check_file(path).checks]
    for phase in plan.phases:
        for side in ("pre", "post"):
            for name in (phase, EVERY_PHASE):
                path = phases / f"{name}.{side}.sql"
                checks += [(f"{side} phase {phase}", c) for c in parse_check_file(path).checks]
    return checks


def key_queries() -> list:
    from dbkit.plan.checks import parse_check_file

    found = {}
    for path in sorted((REPO / "validations" / "phases").glob("*.perf.sql")):
        for check in parse_check_file(path).checks:
            found.setdefault(check.name, check)
    return list(found.values())


def whole_reads(plan: dict) -> list[str]:
    from dbkit.engine.explain import _whole_reads

    return sorted({f"{node} on {relation}" for _, relation, node in _whole_reads(plan)})


def run_suite(conn, checks: list, explain_ms: float) -> dict:
    from dbkit.engine.runner import SAMPLE_ROWS, run_check

    rows = []
    conn.execute("BEGIN READ ONLY")
    t0 = time.perf_counter()
    try:
        for when, check in checks:
            result = run_check(conn, check, project_dir=REPO, when=when)
            rows.append(
                {
                    "when": when,
                    "name": check.name,
                    "location": check.location(REPO),
                    "ms": round(result.duration_ms, 2),
                    "rows_found": result.rows_found,
                }
            )
        total = time.perf_counter() - t0
        for row, (_, check) in zip(rows, checks, strict=True):
            if row["ms"] < explain_ms:
                continue
            plan = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT count(*) OVER () AS n, o.* "
                f"FROM ({check.query}\n) AS o LIMIT {SAMPLE_ROWS}"
            ).fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            top = plan[0]["Plan"]
            row["explain"] = {
                "execution_ms": plan[0].get("Execution Time"),
                "shared_hit": top.get("Shared Hit Blocks"),
                "shared_read": top.get("Shared Read Blocks"),
                "whole_reads": whole_reads(top),
            }
    finally:
        conn.execute("ROLLBACK")
    return {"seconds": round(total, 2), "checks": len(rows), "by_check": rows}


def time_key_queries(conn) -> list[dict]:
    from dbkit.engine import guard

    out = []
    for check in key_queries():
        if guard.missing_relations(conn, check):
            continue
        measured = guard.measure(conn, check)
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) {check.query}").fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        out.append(
            {
                "name": check.name,
                "median_ms": round(measured.median_ms, 2),
                "whole_reads": whole_reads(plan[0]["Plan"]),
            }
        )
    return out


def old_files(rev: str) -> Path:
    """The validation files of git revision ``rev``, extracted to a temporary directory."""
    target = Path(tempfile.mkdtemp(prefix="bench-checks-"))
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "validations"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main() -> None:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a database filled by dbkit synth")
    parser.add_argument("--before", metavar="REV", help="also run the suite of git revision REV")
    parser.add_argument("--explain-ms", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with psycopg.connect(args.url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        rows = conn.execute(
            "SELECT sum(c.reltuples)::bigint FROM pg_class AS c JOIN pg_namespace AS n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchone()[0]
        results: dict = {"machine": machine_info(version), "rows": rows}
        if args.before:
            results["before"] = {"rev": args.before}
            results["before"].update(run_suite(conn, suite(old_files(args.before)), 1e12))
            print(f"before: {results['before']['seconds']} s", file=sys.stderr)
        results["after"] = run_suite(conn, suite(REPO), args.explain_ms)
        print(f"after: {results['after']['seconds']} s", file=sys.stderr)
        results["key_queries"] = time_key_queries(conn)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{rows:,} rows (reltuples), PostgreSQL {version}")
    for side in ("before", "after"):
        if side in results:
            r = results[side]
            print(f"{side}: {r['checks']} checks in {r['seconds']} s")
    slow = sorted(results["after"]["by_check"], key=lambda r: -r["ms"])[:10]
    for row in slow:
        reads = ", ".join(row.get("explain", {}).get("whole_reads", []))
        print(f"  {row['ms']:>9.1f} ms  {row['when']}: {row['name']}  {reads}")
    for query in results["key_queries"]:
        print(f"  key query {query['name']}: {query['median_ms']} ms")


if __name__ == "__main__":
    main()
