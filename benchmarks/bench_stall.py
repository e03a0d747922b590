"""Writers during a migration: the longest stall a writer sees, safe form against naive form.

A table of ``--rows`` rows (default 1,000,000) gets one change per run through ``dbkit migrate``
(the installed command, dbkit's lock_timeout and retries), while a writer thread inserts and
updates single rows in autocommit, one statement after another, recording each statement's
latency. Each form runs on a fresh database: naive (plain CREATE INDEX, ADD CONSTRAINT without
NOT VALID, ADD COLUMN with a volatile default) and safe (CREATE INDEX CONCURRENTLY in a
transactional = False migration, NOT VALID then VALIDATE, a constant default).

    .venv/bin/python benchmarks/bench_stall.py [--rows 1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))

from bench_migrate import machine_info  # noqa: E402
from bench_synth import WORK, Server, child_env, dbkit_bin  # noqa: E402
from projects import Spec, write_project  # noqa: E402

FORMS = {
    "index, naive (CREATE INDEX)": (
        "CREATE INDEX idx_t_payload ON t (payload);\n",
        "DROP INDEX idx_t_payload;\n",
        "",
    ),
    "index, safe (CONCURRENTLY)": (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t_payload ON t (payload);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS idx_t_payload;\n",
        "transactional = False\n",
    ),
    "check, naive (ADD CONSTRAINT)": (
        "ALTER TABLE t ADD CONSTRAINT ck_t_n CHECK (n >= 0);\n",
        "ALTER TABLE t DROP CONSTRAINT ck_t_n;\n",
        "",
    ),
    "check, NOT VALID + VALIDATE in one migration": (
        "ALTER TABLE t ADD CONSTRAINT ck_t_n CHECK (n >= 0) NOT VALID;\n"
        "ALTER TABLE t VALIDATE CONSTRAINT ck_t_n;\n",
        "ALTER TABLE t DROP CONSTRAINT ck_t_n;\n",
        "",
    ),
    # VALIDATE in its own migration (its own transaction): the ACCESS EXCLUSIVE lock of ADD
    # CONSTRAINT is released before the scan, which holds only SHARE UPDATE EXCLUSIVE
    "check, safe (NOT VALID, then VALIDATE in the next migration)": (
        "ALTER TABLE t ADD CONSTRAINT ck_t_n CHECK (n >= 0) NOT VALID;\n"
        "--split--\n"
        "ALTER TABLE t VALIDATE CONSTRAINT ck_t_n;\n",
        "ALTER TABLE t DROP CONSTRAINT ck_t_n;\n--split--\nSELECT 1;\n",
        "",
    ),
    "column, naive (volatile default)": (
        "ALTER TABLE t ADD COLUMN seen_at timestamptz DEFAULT clock_timestamp();\n",
        "ALTER TABLE t DROP COLUMN seen_at;\n",
        "",
    ),
    "column, safe (constant default)": (
        "ALTER TABLE t ADD COLUMN flag boolean NOT NULL DEFAULT false;\n",
        "ALTER TABLE t DROP COLUMN flag;\n",
        "",
    ),
}


def base(rows: int) -> Spec:
    return Spec(
        "base",
        "base",
        "CREATE TABLE t (id bigint PRIMARY KEY, n integer NOT NULL, payload text);\n"
        f"INSERT INTO t SELECT g, g % 1000, md5(g::text) FROM generate_series(1, {rows}) AS g;\n",
        "DROP TABLE t;\n",
    )


class Writer(threading.Thread):
    def __init__(self, url: str, start_id: int) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.next_id = start_id
        self.stop = threading.Event()
        self.samples: list[tuple[float, float]] = []  # (start time, latency s)

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                t0 = time.perf_counter()
                if self.next_id % 2:
                    conn.execute(
                        "INSERT INTO t (id, n, payload) VALUES (%s, 1, 'w')", (self.next_id,)
                    )
                else:
                    conn.execute("UPDATE t SET n = n + 1 WHERE id = %s", (self.next_id % 1000 + 1,))
                self.samples.append((t0, time.perf_counter() - t0))
                self.next_id += 1


def run_form(server: Server, name: str, up: str, down: str, options: str, rows: int, n: int):
    db = f"stall_{n}"
    server.sql(f"CREATE DATABASE {db}")
    url = server.url(db)
    with tempfile.TemporaryDirectory() as tmp:
        changes = [
            Spec(f"change_{k}", "change", u, d, options)
            for k, (u, d) in enumerate(
                zip(up.split("--split--\n"), down.split("--split--\n"), strict=True)
            )
        ]
        project = write_project(Path(tmp) / "p", [base(rows), *changes])
        cmd = [dbkit_bin(), "--url", url, "--project", str(project), "migrate"]
        subprocess.run([*cmd, "--to", "0001"], check=True, capture_output=True, env=child_env())
        writer = Writer(url, rows + 10)
        writer.start()
        time.sleep(1.0)  # steady state before the change
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, env=child_env(), text=True)
        t1 = time.perf_counter()
        time.sleep(0.5)
        writer.stop.set()
        writer.join()
    server.sql(f"DROP DATABASE {db} WITH (FORCE)")
    during = [lat for start, lat in writer.samples if t0 - 0.5 <= start <= t1]
    steady = sorted(lat for start, lat in writer.samples if start < t0)
    return {
        "form": name,
        "migrate_ok": done.returncode == 0,
        "migrate_s": round(t1 - t0, 2),
        "longest_stall_ms": round(max(during) * 1000, 1) if during else None,
        "writes_during": len(during),
        "steady_p50_ms": round(steady[len(steady) // 2] * 1000, 2) if steady else None,
        "stderr": done.stderr.strip().splitlines()[-1:] if done.returncode else [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", default="", help="run only the forms whose name holds this")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    server = Server(fast=False, name="stall-pgdata", port=54332)
    results = {"machine": machine_info(server.version()), "rows": args.rows, "forms": []}
    try:
        for n, (name, (up, down, options)) in enumerate(FORMS.items()):
            if args.only not in name:
                continue
            result = run_form(server, name, up, down, options, args.rows, n)
            results["forms"].append(result)
            print(json.dumps(result), file=sys.stderr)
    finally:
        server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results["forms"]:
        print(
            f"{r['form']:<38} migrate {r['migrate_s']:>7} s   longest writer stall "
            f"{r['longest_stall_ms']:>9} ms   (steady p50 {r['steady_p50_ms']} ms)"
        )


if __name__ == "__main__":
    main()
