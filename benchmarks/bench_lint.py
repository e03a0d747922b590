"""How long ``dbkit lint`` takes on this repository: cold, warm, and after one file changed.

    .venv/bin/python benchmarks/bench_lint.py [--warm-runs 3] [--json]

The repository's lintable files (migrations/, sql/, rollbacks/, validations/ and the lint
configuration) are copied to ``benchmarks/.work/lint-project``, so the repository's own cache is
left alone. Then, each a ``dbkit lint`` process timed by its wall clock:

* cold: no ``.dbkit/cache`` (every file through sqlfluff, in worker processes, and squawk);
* warm: nothing changed since (``--warm-runs`` times; the median is reported);
* one file changed: a comment appended to one migration (that file is linted again).

Each run reports its wall clock and its CPU time (dbkit's process and its sqlfluff workers):
on a shared machine the wall clock is mostly waiting for a core, the CPU time is the work.
"""

from __future__ import annotations

import argparse
import json
import resource
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

from bench_migrate import child_env, dbkit_executable, machine_info  # noqa: E402

COPIED = ["migrations", "sql", "rollbacks", "validations"]
CONFIG = [".sqlfluff", ".squawk.toml", "pyproject.toml", "dbkit.toml", "alembic.ini"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--compare-parsers",
        action="store_true",
        help="also lint cold with sqlfluff's Python parser (use_rust_parser = False)",
    )
    parser.add_argument("--workdir", default=str(HERE / ".work"))
    args = parser.parse_args(argv)
    project = Path(args.workdir).absolute() / "lint-project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    for name in COPIED:
        shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in CONFIG:
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, project / name)
    files = sum(
        1 for d in ("sql", "rollbacks", "validations") for _ in (project / d).rglob("*.sql")
    )
    command = [str(dbkit_executable()), "--project", str(project), "lint"]
    env = child_env()

    cpu: list[float] = []  # CPU seconds of each run (dbkit and its worker processes)

    def run() -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"dbkit lint failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return elapsed

    cold = run()
    warm = [run() for _ in range(args.warm_runs)]
    target = sorted((project / "sql").glob("*.sql"))[-1]
    target.write_text(target.read_text() + "-- touched by the benchmark\n")
    changed = run()
    changed_cpu = cpu[-1]
    python_parser = None
    if args.compare_parsers:
        # the same cold lint with sqlfluff's Python parser, for the ratio in one run
        config = project / ".sqlfluff"
        config.write_text(
            config.read_text().replace("[sqlfluff]\n", "[sqlfluff]\nuse_rust_parser = False\n", 1)
        )
        shutil.rmtree(project / ".dbkit" / "cache")
        python_parser = {"cold_s": run(), "cold_cpu_s": cpu[-1]}
    result = {
        "files": files,
        "cold_s": cold,
        "cold_cpu_s": cpu[0],
        "warm_s": statistics.median(warm),
        "warm_runs": [round(w, 3) for w in warm],
        "warm_cpu_s": statistics.median(cpu[1 : 1 + len(warm)]),
        "one_changed_s": changed,
        "one_changed_cpu_s": changed_cpu,
        "python_parser": python_parser,
        "machine": machine_info("-"),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"dbkit lint of this repository ({files} SQL files), wall (CPU): cold {cold:.1f}s "
            f"({result['cold_cpu_s']:.1f}s), warm {result['warm_s']:.2f}s "
            f"({result['warm_cpu_s']:.2f}s, median of {len(warm)}), one file changed "
            f"{changed:.2f}s ({result['one_changed_cpu_s']:.2f}s)\n"
            + (
                f"cold with sqlfluff's Python parser: {python_parser['cold_s']:.1f}s "
                f"({python_parser['cold_cpu_s']:.1f}s)\n"
                if python_parser
                else ""
            )
            + f"machine: {result['machine']['cpu']}, {result['machine']['nproc']} CPUs; load "
            f"average at end {result['machine']['load_average']}; "
            f"{result['machine']['date']}; dbkit {result['machine']['dbkit_commit']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
