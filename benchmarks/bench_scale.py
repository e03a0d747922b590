"""The safety workflow's own cost as the data grows, on the unified schema filled by dbkit synth.

Two ways to get the databases: ``--server-url URL --templates scale10k,scale1m,scale10m`` copies
each template database of an existing server (``CREATE DATABASE .. TEMPLATE``, dropped at the
end; the templates themselves are never touched); without them, a throwaway embedded server is
started and each ``--scales`` size (dbkit synth's --scale) is loaded into a fresh database.
On each database:

1. per phase, the phase snapshot: every table counted (``count_all_ms``), the preserved
   tables digested whatever the phase does (``old_digest_ms``, the rule before the write
   analysis) and the rule now, only the tables the phase's SQL can write counted and digested
   (``snapshot_ms``; its ``digest_ms`` is the digest of the preserved tables it can write,
   ``proven`` the ones it cannot), the store of that snapshot
   (``store_ms``, rolled back) and the in-migration comparison against it inside a
   transaction (``compare_in_tx_ms``); each measured as at the phase's start: inside a
   transaction rolled back afterwards, the tables the phase and later phases create are
   moved out of sight first;
2. the whole validation suite: every check of every file (migration and phase pre/post checks,
   schema-wide checks), run read-only, in seconds, with every check's time;
3. the key queries (validations/phases/*.perf.sql), each timed as the guard times it;
4. with ``--late-phase P``: ``dbkit rollback --phase P`` and ``dbkit migrate`` end to end,
   twice (the second pair is judged against a snapshot of the loaded data), wall time each and
   where dbkit's own time went (snapshot, digest, store, comparisons, checks, key queries,
   bookkeeping), in process.

    .venv/bin/python benchmarks/bench_scale.py [--scales 100,1000,10000] [--json]
    .venv/bin/python benchmarks/bench_scale.py --server-url URL --templates a,b [--late-phase P]
"""

from __future__ import annotations

import argparse
import json
import os
import re
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

CREATED = re.compile(
    r"\bcreate\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?([a-z_][a-z0-9_.]*)"
)


class Timers:
    """Wall time spent inside chosen functions (wrapped in place, for this process only)."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._undo: list = []

    def wrap(self, owner, attr: str, label: str) -> None:
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.ms[label] = self.ms.get(label, 0.0) + (time.perf_counter() - t0) * 1000
                self.calls[label] = self.calls.get(label, 0) + 1

        setattr(owner, attr, timed)
        self._undo.append((owner, attr, original))

    def reset(self) -> dict:
        out = {k: round(v, 1) for k, v in sorted(self.ms.items())}
        out["calls"] = dict(sorted(self.calls.items()))
        self.ms, self.calls = {}, {}
        return out

    def restore(self) -> None:
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)


def measure(
    url: str,
    late_phase: str | None = None,
    prep: str | None = None,
    old_rules: set[str] | None = None,
    only_phases: set[str] | None = None,
) -> dict:
    import psycopg

    from dbkit.engine import guard, preserve, registry
    from dbkit.engine.runner import run_check
    from dbkit.engine.workflow import CheckBook
    from dbkit.plan.graph import load_plan

    plan = load_plan(REPO)
    book = CheckBook(plan)
    out: dict = {"phases": []}
    timers = Timers()
    timers.wrap(preserve, "digest", "digest_ms")
    with psycopg.connect(url, autocommit=True) as conn:
        out["registry_upgraded_to"] = registry.ensure_registry(conn)  # as migrate would
        out["rows"] = conn.execute(
            "SELECT sum(reltuples)::bigint FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchone()[0]
        out["database_size"] = conn.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()[0]
        for phase in plan.phases:
            if only_phases and phase not in only_phases:
                continue
            first, last = plan.phase_span(phase)
            files = [t for m in plan.migrations[first : last + 1] for t in m.every_sql]
            analyse = preserve.Analyse(book.writes, book.body_writes)
            pre = book.phase_file(phase, "pre")
            # as at the phase's start: the tables it and later phases create do not exist yet
            # (moved out of sight into the dbkit schema, inside a transaction rolled back)
            conn.execute("BEGIN")
            later = {
                name for m in plan.migrations[first:] for name in CREATED.findall(m.up_sql.lower())
            }
            hidden = 0
            for name in sorted(later):
                found = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0]
                if found is not None:
                    conn.execute(f"ALTER TABLE {name} SET SCHEMA dbkit")
                    hidden += 1
            t0 = time.perf_counter()
            baseline = old_rules is None or phase in old_rules
            if baseline:
                preserve.take(conn, phase, ())  # every table counted
            t1 = time.perf_counter()
            # the rule before: every preserved table digested at the phase's start
            old_digest = []
            for wanted in pre.preserve if baseline else ():
                name = preserve._qualified(conn, wanted)
                old_digest.append(
                    len(
                        preserve.digest(
                            conn,
                            name,
                            preserve._columns(conn, name),
                            preserve._digest_key(conn, name)[0],
                        )[0]
                    )
                )
            t2 = time.perf_counter()
            timers.reset()
            new = preserve.take(conn, phase, pre.preserve, files, analyse)
            t3 = time.perf_counter()
            digest_ms = timers.reset().get("digest_ms", 0.0)
            t4 = time.perf_counter()
            stored = preserve.store(conn, new, None)
            t5 = time.perf_counter()
            losses = preserve.compare(conn, stored, when="bench", in_transaction=True)
            t6 = time.perf_counter()
            conn.execute("ROLLBACK")
            assert not losses, losses
            out["phases"].append(
                {
                    "phase": phase,
                    "count_all_ms": round((t1 - t0) * 1000, 1) if baseline else None,
                    "old_digest_ms": round((t2 - t1) * 1000, 1) if old_digest else None,
                    "old_digest_chunks": sum(old_digest) if old_digest else None,
                    "snapshot_ms": round((t3 - t2) * 1000, 1),
                    "digest_ms": digest_ms,
                    "store_ms": round((t5 - t4) * 1000, 1),
                    "compare_in_tx_ms": round((t6 - t5) * 1000, 1),
                    "tables": len(new.tables),
                    "not_yet_created": hidden,
                    "counted": sum(1 for s in new.tables.values() if s.exact and s.columns is None),
                    "preserved": {n: s.rows for n, s in new.tables.items() if s.columns},
                    "proven": sorted(n for n, s in new.tables.items() if s.proven),
                    "chunks": sum(len(c) for c in new.chunks.values()),
                }
            )
            print(json.dumps(out["phases"][-1]), file=sys.stderr)
        checks = []
        for migration in plan.migrations:
            checks += book.file(migration.pre_check_path).checks
            checks += book.file(migration.post_check_path).checks
        for phase in plan.phases:
            checks += book.phase_file(phase, "pre").checks
            checks += book.phase_file(phase, "post").checks
        conn.execute("BEGIN READ ONLY")
        t0 = time.perf_counter()
        timings = []
        for check in checks:
            c0 = time.perf_counter()
            run_check(conn, check)
            timings.append((round((time.perf_counter() - c0) * 1000, 1), check.name))
        out["validation_suite_s"] = round(time.perf_counter() - t0, 2)
        out["checks"] = len(checks)
        out["slowest_checks_ms"] = sorted(timings)[-5:]
        out["check_ms"] = timings
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
    timers.restore()
    if late_phase:
        if prep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(prep)
        out["late_phase"] = end_to_end(url, late_phase)
        out["late_phase"]["prepared_with"] = prep
    return out


def end_to_end(url: str, phase: str) -> dict:
    """Roll ``phase`` back and migrate it again, twice, timing dbkit's own parts."""
    from dbkit import api, settings
    from dbkit.engine import preserve, runner, workflow

    s = settings.resolve(REPO, url=url, environ={})
    timers = Timers()
    timers.wrap(preserve, "take", "snapshot_ms")
    timers.wrap(preserve, "digest", "digest_ms")
    timers.wrap(preserve, "store", "store_ms")
    timers.wrap(preserve, "judge", "compare_ms")
    timers.wrap(preserve, "changed_ranges", "range_compare_ms")
    timers.wrap(runner.Runner, "run_checks", "checks_ms")
    timers.wrap(runner.Runner, "_move_and_record", "bookkeeping_ms")
    timers.wrap(workflow.Workflow, "_measure", "key_queries_ms")
    runs = []
    try:
        for attempt in (1, 2):
            for what in ("rollback", "migrate"):
                t0 = time.perf_counter()
                result = api.rollback(s, phase=phase) if what == "rollback" else api.migrate(s)
                wall = time.perf_counter() - t0
                run = {
                    "attempt": attempt,
                    "command": what,
                    "wall_s": round(wall, 2),
                    "steps": len(result.steps),
                    "sql_ms": round(sum(x.duration_ms or 0 for x in result.steps), 1),
                    **timers.reset(),
                }
                runs.append(run)
                print(json.dumps(run), file=sys.stderr)
    finally:
        timers.restore()
    return {"phase": phase, "runs": runs}


def from_templates(
    server_url: str,
    templates: list[str],
    late_phase: str | None,
    prep: str | None,
    old_rules: set[str] | None,
    only_phases: set[str] | None = None,
    migrate_first: bool = False,
) -> dict:
    """Measure a copy of each template database of an existing server (copies dropped)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    def url(db: str) -> str:
        return make_conninfo(server_url, dbname=db)

    with psycopg.connect(url("postgres"), autocommit=True) as admin:
        version = admin.execute("SHOW server_version").fetchone()[0]
    results: dict = {"machine": machine_info(version), "sizes": []}
    results["server"] = {k: v for k, v in conninfo_to_dict(server_url).items() if k != "password"}
    for template in templates:
        copy = f"scaleflow_{template}"
        with psycopg.connect(url("postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {copy}")
            t0 = time.perf_counter()
            admin.execute(f"CREATE DATABASE {copy} TEMPLATE {template}")
            copy_s = time.perf_counter() - t0
        try:
            migrate_s = None
            if migrate_first:  # the plan's head is past the template's: migrate the copy
                from dbkit import api, settings

                t0 = time.perf_counter()
                api.migrate(settings.resolve(REPO, url=url(copy), environ={}))
                migrate_s = round(time.perf_counter() - t0, 1)
            load = os.getloadavg()
            size = {
                "template": template,
                "copy_s": round(copy_s, 1),
                "migrate_first_s": migrate_s,
                "load_average_at_start": [round(x, 2) for x in load],
                **measure(url(copy), late_phase, prep, old_rules, only_phases),
            }
            size["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
            results["sizes"].append(size)
            print(json.dumps({k: v for k, v in size.items() if k in SUMMARY}), file=sys.stderr)
        finally:
            with psycopg.connect(url("postgres"), autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")
    return results


SUMMARY = ("template", "scale", "rows", "validation_suite_s", "checks", "slowest_checks_ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="100,1000,10000")
    parser.add_argument("--server-url", help="an existing server holding --templates")
    parser.add_argument("--templates", default="", help="template databases, comma-separated")
    parser.add_argument("--late-phase", help="roll this phase back and migrate it, twice")
    parser.add_argument(
        "--late-phase-prep", help="SQL run on the copy before --late-phase (after part 1-3)"
    )
    parser.add_argument(
        "--old-rules", help="time the count-all rule and the old digest for these phases only"
    )
    parser.add_argument("--phases", help="measure the snapshots of these phases only")
    parser.add_argument(
        "--migrate-first", action="store_true", help="migrate each copy to the plan's head first"
    )
    parser.add_argument("--out", help="write the results JSON here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    old_rules = set(args.old_rules.split(",")) if args.old_rules else None
    if args.server_url:
        results = from_templates(
            args.server_url,
            [t for t in args.templates.split(",") if t],
            args.late_phase,
            args.late_phase_prep,
            old_rules,
            set(args.phases.split(",")) if args.phases else None,
            args.migrate_first,
        )
    else:
        results = self_loaded(args)
    results["commit"] = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for size in results["sizes"]:
        all_ms = sum(p["count_all_ms"] or 0 for p in size["phases"])
        old_ms = sum(p["old_digest_ms"] or 0 for p in size["phases"])
        new_ms = sum(p["snapshot_ms"] for p in size["phases"])
        print(
            f"{size.get('template') or size.get('scale')}: {size['rows']} rows; snapshots over "
            f"all phases {all_ms:.0f} ms (count all), preserved tables' digest {old_ms:.0f} ms "
            f"(before the write analysis) -> {new_ms:.0f} ms (written tables only); "
            f"validation suite "
            f"{size['validation_suite_s']} s for {size['checks']} checks"
        )


def self_loaded(args) -> dict:
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
            size = {
                "scale": scale,
                "load_s": round(load_s, 1),
                "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
                **measure(server.url(db), args.late_phase, args.late_phase_prep),
            }
            results["sizes"].append(size)
            server.sql(f"DROP DATABASE {db}")
            print(json.dumps({k: v for k, v in size.items() if k in SUMMARY}), file=sys.stderr)
    finally:
        server.stop()
    return results


if __name__ == "__main__":
    main()
