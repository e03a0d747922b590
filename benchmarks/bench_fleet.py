"""Time ``dbkit fleet migrate`` and ``fleet status`` with the unified schema on several servers.

    .venv/bin/python benchmarks/bench_fleet.py [--servers 3] [--databases 30] [--tenants 100]
                                               [--jobs 1,4,16] [--status-targets 100] [--json]

What it does (everything under ``benchmarks/.work/fleet``, servers always stopped at the end):

1. starts ``--servers`` throwaway PostgreSQL servers from the embedded wheel (Unix sockets,
   fsync off: the cost measured is dbkit's and the server's work, not the disk's);
2. for each ``--jobs`` value: creates ``--databases`` fresh databases on every server and runs
   ``dbkit fleet migrate --jobs J`` over them (the repository's unified schema, 37 migrations
   with their checks), timed as a subprocess; a sampler counts dbkit's connections per server
   in ``pg_stat_activity`` every 50 ms (the highest count is reported next to fleet's own
   ``peak_connections``);
3. the same for ``--tenants`` tenant schemas in one database of the first server
   (``shared_schemas = ["public"]``, pg_trgm created once beforehand);
4. ``dbkit fleet status`` over ``--status-targets`` up-to-date databases (clones of a migrated
   one, spread over the servers), with the slowest plain ``psycopg.connect`` to them measured
   alone for comparison.

Speed-up is the --jobs 1 time divided by the --jobs J time of the same fleet.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from dbkit.embedded.server import Cluster, wheel_bindir  # noqa: E402

SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
}


def child_env() -> dict[str, str]:
    drop = ("PYTHONDONTWRITEBYTECODE", "DATABASE_URL")
    env = {
        k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("PG", "DBKIT_"))
    }
    env["NO_COLOR"] = "1"
    return env


def machine() -> dict[str, str]:
    def read(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    cpu = next(
        (line.split(":", 1)[1].strip() for line in read("/proc/cpuinfo").splitlines()
         if line.startswith("model name")),
        platform.processor() or "unknown",
    )  # fmt: skip
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "dbkit_commit": commit,
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "load_average": " ".join(read("/proc/loadavg").split()[:3]),
        "python": platform.python_version(),
    }


class Sampler(threading.Thread):
    """Highest number of dbkit connections seen at once on each server."""

    def __init__(self, admins: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.admins = admins
        self.peak: Counter[str] = Counter()
        self.done = threading.Event()

    def run(self) -> None:
        conns = {name: psycopg.connect(url, autocommit=True) for name, url in self.admins.items()}
        try:
            while not self.done.is_set():
                for name, conn in conns.items():
                    count = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dbkit'"
                    ).fetchone()[0]
                    self.peak[name] = max(self.peak[name], count)
                time.sleep(0.05)
        finally:
            for conn in conns.values():
                conn.close()


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = HERE / ".work" / "fleet"
        self.clusters: list[Cluster] = []
        self.admin: dict[str, str] = {}
        self.counter = 0
        self.dbkit = Path(sys.executable).parent / "dbkit"

    def start(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        for number in range(self.args.servers):
            cluster = Cluster(
                self.work / f"pg{number}", wheel_bindir(), settings=SETTINGS, fast=True
            )
            info = cluster.start()
            self.clusters.append(cluster)
            self.admin[f"server{number}"] = info.url("postgres")

    def stop(self) -> None:
        for cluster in self.clusters:
            try:
                cluster.stop(mode="immediate")
            except Exception as exc:  # noqa: BLE001 - keep stopping the others
                print(f"could not stop {cluster.pgdata}: {exc}", file=sys.stderr)
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    def create(self, server: str, template: str = "template0") -> str:
        self.counter += 1
        name = f"fleet_{self.counter}"
        with psycopg.connect(self.admin[server], autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def url(self, server: str, dbname: str) -> str:
        return self.admin[server].replace("/postgres?", f"/{dbname}?")

    def fleet_file(self, name: str, targets: list[dict], header: str = "") -> Path:
        lines = [header]
        for target in targets:
            lines.append("[[targets]]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in target.items()]
        path = self.work / f"{name}.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def run(self, fleet: Path, *args: str) -> tuple[float, dict, dict]:
        sampler = Sampler(self.admin)
        sampler.start()
        time.sleep(0.1)
        t0 = time.perf_counter()
        done = subprocess.run(
            [str(self.dbkit), "--project", str(REPO), "fleet", "--fleet", str(fleet), *args,
             "--json"],
            capture_output=True, text=True, env=child_env(),
        )  # fmt: skip
        wall = time.perf_counter() - t0
        sampler.done.set()
        sampler.join()
        if done.returncode != 0:
            raise SystemExit(f"fleet {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        return wall, json.loads(done.stdout), dict(sampler.peak)

    # -- the three measurements ------------------------------------------------------------

    def databases(self) -> list[dict]:
        rows = []
        for jobs in self.args.jobs:
            targets = [
                {"name": f"{server}-{i}", "url": self.url(server, self.create(server))}
                for server in self.admin
                for i in range(self.args.databases)
            ]
            fleet = self.fleet_file(f"databases-{jobs}", targets)
            wall, doc, sampled = self.run(fleet, "migrate", "--jobs", str(jobs))
            assert doc["summary"] == f"{len(targets)} at {doc['goal']}", doc["summary"]
            rows.append(self._row("databases", len(targets), jobs, wall, doc, sampled))
            print(_format(rows[-1]), file=sys.stderr)
        return _speedups(rows)

    def tenants(self) -> list[dict]:
        rows = []
        for jobs in self.args.jobs:
            dbname = self.create("server0")
            url = self.url("server0", dbname)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION pg_trgm")  # shared by the tenants, made once
            targets = [
                {"name": f"tenant{i:03d}", "url": url, "schema": f"tenant{i:03d}"}
                for i in range(self.args.tenants)
            ]
            fleet = self.fleet_file(
                f"tenants-{jobs}", targets, '[fleet]\nshared_schemas = ["public"]\n'
            )
            wall, doc, sampled = self.run(fleet, "migrate", "--jobs", str(jobs))
            assert doc["summary"] == f"{len(targets)} at {doc['goal']}", doc["summary"]
            rows.append(self._row("tenant schemas", len(targets), jobs, wall, doc, sampled))
            print(_format(rows[-1]), file=sys.stderr)
        return _speedups(rows)

    def status(self) -> dict:
        servers = list(self.admin)
        migrated = {}
        for server in servers:
            name = self.create(server)
            fleet = self.fleet_file(
                f"seed-{server}", [{"name": "x", "url": self.url(server, name)}]
            )
            self.run(fleet, "migrate")
            migrated[server] = name
        targets = []
        for i in range(self.args.status_targets):
            server = servers[i % len(servers)]
            targets.append(
                {
                    "name": f"s{i:03d}",
                    "url": self.url(server, self.create(server, migrated[server])),
                }
            )
        fleet = self.fleet_file("status", targets)
        slowest = 0.0
        for target in targets:
            t0 = time.perf_counter()
            psycopg.connect(target["url"]).close()
            slowest = max(slowest, time.perf_counter() - t0)
        extra = []
        if self.args.status_jobs:
            extra = [
                "--jobs",
                str(self.args.status_jobs),
                "--per-server",
                str(self.args.status_jobs),
            ]
        walls = []
        for _ in range(self.args.status_runs):
            wall, doc, sampled = self.run(fleet, "status", *extra)
            assert doc["summary"] == f"{len(targets)} at {doc['goal']}", doc["summary"]
            walls.append(wall)
        walls.sort()
        return {
            "peak_connections_sampled": sampled,
            "targets": len(targets),
            "runs": len(walls),
            "median_s": round(walls[len(walls) // 2], 3),
            "min_s": round(walls[0], 3),
            "fleet_reported_s": round(doc["duration_ms"] / 1000, 3),
            "slowest_connect_s": round(slowest, 4),
            "jobs": doc["jobs"],
        }

    @staticmethod
    def _row(kind, count, jobs, wall, doc, sampled) -> dict:
        return {
            "fleet": kind,
            "targets": count,
            "jobs": jobs,
            "wall_s": round(wall, 2),
            "per_target_s": round(wall / count, 2),
            "peak_connections_fleet": doc["peak_connections"],
            "peak_connections_sampled": sampled,
        }


def _speedups(rows: list[dict]) -> list[dict]:
    base = rows[0]["wall_s"]
    for row in rows:
        row["speedup"] = round(base / row["wall_s"], 2)
    return rows


def _format(row: dict) -> str:
    sampled = ", ".join(f"{k}={v}" for k, v in sorted(row["peak_connections_sampled"].items()))
    speed = f"  x{row['speedup']}" if "speedup" in row else ""
    return (
        f"{row['fleet']:<15} {row['targets']:>4} targets  --jobs {row['jobs']:>2}: "
        f"{row['wall_s']:8.2f}s ({row['per_target_s']:.2f}s/target){speed}  "
        f"connections per server (sampled): {sampled}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--databases", type=int, default=30, help="per server")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--jobs", default="1,4,16")
    parser.add_argument("--status-targets", type=int, default=100)
    parser.add_argument("--status-runs", type=int, default=5)
    parser.add_argument(
        "--status-jobs", type=int, default=0, help="--jobs and --per-server for fleet status"
    )
    parser.add_argument("--skip", default="", help="comma list of: databases,tenants,status")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.jobs = [int(j) for j in args.jobs.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    bench = Bench(args)
    result: dict = {"machine": machine(), "args": {k: v for k, v in vars(args).items()}}
    bench.start()
    try:
        if "databases" not in skip:
            result["databases"] = bench.databases()
        if "tenants" not in skip:
            result["tenants"] = bench.tenants()
        if "status" not in skip:
            result["status"] = bench.status()
            s = result["status"]
            print(
                f"fleet status over {s['targets']} up-to-date targets: median {s['median_s']}s "
                f"(min {s['min_s']}s, fleet's own {s['fleet_reported_s']}s, --jobs "
                f"{s['jobs']}); slowest single connection {s['slowest_connect_s']}s",
                file=sys.stderr,
            )
    finally:
        bench.stop()
    result["machine"]["load_average_after"] = machine()["load_average"]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for kind in ("databases", "tenants"):
            for row in result.get(kind, []):
                print(_format(row))


if __name__ == "__main__":
    main()
