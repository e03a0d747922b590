"""A big data migration: how long ``dbkit migrate`` takes and how much memory it uses.

    .venv/bin/python benchmarks/bench_bigfile.py [--mb 50] [--json]

1. generates a project of two migrations under ``benchmarks/.work/bigfile``: the first creates
   a table and a few rows (phase ``base``), the second (phase ``load``) is a generated data
   migration of ``--mb`` megabytes of single-row ``INSERT`` statements (50 MB: about 530,000),
   with quotes, semicolons, newlines and non-ASCII text inside the strings;
2. times, in this process, splitting the file into statements and the row-removal classifier,
   at 1/8, 1/4, 1/2 and all of the file: linear work shows as a constant time per statement;
3. on a throwaway server (the embedded wheel, Unix socket), times the psql floor (``BEGIN; \\i
   file; COMMIT;``) and ``dbkit migrate`` of the project, with each process's peak RSS;
4. the same migration with a syntax error on its last line: how long dbkit takes to fail and
   name the line, and its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from bench_migrate import child_env, dbkit_executable, machine_info  # noqa: E402
from generate import Migration, write  # noqa: E402

from dbkit.embedded.server import Cluster, wheel_bindir  # noqa: E402
from dbkit.plan import sqltext  # noqa: E402


def data_sql(megabytes: float) -> str:
    target = int(megabytes * 1_000_000)
    parts, size, i = [], 0, 0
    while size < target:
        i += 1
        if i % 1000 == 0:
            row = f"INSERT INTO readings (id, note) VALUES ({i}, 'multi-line;\n''quoted'' é');\n"
        else:
            row = f"INSERT INTO readings (id, note) VALUES ({i}, 'reading {i}; ok ü');\n"
        parts.append(row)
        size += len(row.encode())
    return "".join(parts)


def write_project(project: Path, data: str) -> None:
    shutil.rmtree(project, ignore_errors=True)
    write(
        project,
        [
            Migration(
                "readings",
                "base",
                "CREATE TABLE readings (id bigint PRIMARY KEY, note text);\n"
                "INSERT INTO readings VALUES (0, 'first');\n",
                "DROP TABLE readings;\n",
            ),
            Migration("load_readings", "load", data, "DELETE FROM readings WHERE id > 0;\n"),
        ],
    )


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """(seconds, peak RSS in MB, exit code, the last line it wrote to stderr) of one process,
    its peak RSS measured by GNU time."""
    t0 = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "peak_rss_kb=%M", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - t0
    lines = done.stderr.strip().splitlines()
    rss = int(lines[-1].split("=")[1]) // 1024 if lines and "peak_rss_kb=" in lines[-1] else -1
    # GNU time reports a non-zero exit itself, before its own line
    other = [line for line in lines[:-1] if not line.startswith("Command exited with")]
    return elapsed, rss, done.returncode, other[-1] if other else ""


def in_process(data: str) -> list[dict]:
    """Split and classify 1/8, 1/4, 1/2 and all of the file, and classify a file of the same
    size whose statements all create (so that every statement is parsed)."""
    lines = data.splitlines(keepends=True)
    rows = []
    for fraction in (8, 4, 2, 1):
        text = "".join(lines[: len(lines) // fraction])
        t0, c0 = time.perf_counter(), time.process_time()
        statements = sqltext.split(text)
        t_split, c_split = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        sqltext.could_remove_rows(text)
        t_classify = time.perf_counter() - t0
        creates = "".join(
            f"COMMENT ON TABLE readings IS 'select {i}; ok ü';\n" for i in range(len(statements))
        )
        t0 = time.perf_counter()
        verdict = sqltext.could_remove_rows(creates)
        t_full = time.perf_counter() - t0
        rows.append(
            {
                "bytes": len(text.encode()),
                "statements": len(statements),
                "split_s": t_split,
                "split_us_per_statement": 1e6 * t_split / max(len(statements), 1),
                "split_cpu_s": c_split,
                "split_cpu_us_per_statement": 1e6 * c_split / max(len(statements), 1),
                "classify_s": t_classify,
                "classify_every_statement_s": t_full,
                "every_statement_parsed_verdict": verdict,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50, help="size of the data migration (50)")
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workdir", default=str(HERE / ".work"))
    parser.add_argument("--skip-in-process", action="store_true", help="only the processes")
    parser.add_argument(
        "--no-floor", action="store_true", help="skip psql (one round trip per statement: slow)"
    )
    args = parser.parse_args(argv)
    work = Path(args.workdir).absolute()
    work.mkdir(parents=True, exist_ok=True)
    project = work / "bigfile"
    data = data_sql(args.mb)
    write_project(project, data)
    result: dict = {"mb": len(data.encode()) / 1e6, "statements": data.count(";\n")}
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    log(f"wrote {result['mb']:.1f} MB, {result['statements']} statements to {project}")
    if not args.skip_in_process:
        result["in_process"] = in_process(data)
        for row in result["in_process"]:
            log(
                f"  {row['statements']:>7} statements: split {row['split_s']:.2f}s "
                f"({row['split_us_per_statement']:.1f} us each; CPU "
                f"{row['split_cpu_us_per_statement']:.1f} us), classify {row['classify_s']:.3f}s"
                f", classify parsing every statement {row['classify_every_statement_s']:.2f}s"
            )
    bindir = wheel_bindir()
    pgdata = work / "pgdata-bigfile"
    if pgdata.exists():
        Cluster(pgdata, bindir).stop()
        shutil.rmtree(pgdata)
    cluster = Cluster(pgdata, bindir, port=args.port, settings={"max_connections": "20"}, fast=True)
    cluster.start()
    env = child_env()
    dbkit = str(dbkit_executable())
    psql = str(bindir / "psql")

    def fresh(name: str) -> str:
        for statement in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
            subprocess.run(
                [psql, "-X", "-q", "-d", cluster.url("postgres"), "-c", statement],
                check=True,
                env=env,
            )
        return cluster.url(name)

    try:
        floor = work / "bigfile-floor.sql"
        floor.write_text(
            "".join(
                f"BEGIN;\n\\i '{project / 'sql' / name}'\nCOMMIT;\n"
                for name in sorted(os.listdir(project / "sql"))
            )
        )
        url = fresh("big_psql") if not args.no_floor else ""
        if url:
            t, _, code, _ = timed(
                [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(floor)], env
            )
            result["psql_s"] = t
            log(f"psql floor: {t:.1f}s (exit {code})")
        url = fresh("big_dbkit")
        t, rss, code, last = timed([dbkit, "--url", url, "--project", str(project), "migrate"], env)
        result["dbkit_s"], result["dbkit_peak_rss_mb"], result["dbkit_exit"] = t, rss, code
        log(f"dbkit migrate: {t:.1f}s, peak RSS {rss} MB (exit {code})")
        path = project / "sql" / "0002_load_readings.sql"
        path.write_text(data + "INSERT INTO readings VALUES (0, 'x') ORDER;\n")
        url = fresh("big_broken")
        t, rss, code, last = timed([dbkit, "--url", url, "--project", str(project), "migrate"], env)
        result["broken_s"], result["broken_peak_rss_mb"] = t, rss
        result["broken_exit"], result["broken_message"] = code, last[:300]
        log(
            f"with an error on the last line: {t:.1f}s, peak RSS {rss} MB, exit {code}: "
            f"{last[:200]}"
        )
    finally:
        cluster.stop()
        shutil.rmtree(pgdata, ignore_errors=True)
    result["machine"] = machine_info("embedded")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
