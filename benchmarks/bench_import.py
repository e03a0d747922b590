"""How long `dbkit import` takes on a few hundred migrations (files only, no database).

    python benchmarks/bench_import.py [--count 300] [--runs 5]

The benchmark corpus of generate.py (enum types, $$ functions, triggers, views, seed data,
CREATE INDEX CONCURRENTLY) is laid out as each tool's directory: golang-migrate
(NNN_x.up.sql/.down.sql), dbmate (-- migrate:up/down sections, transaction:false on the
concurrent ones), goose (-- +goose Up/Down, NO TRANSACTION), Flyway (V/U files) and Diesel
(one directory per migration, metadata.toml). Each is imported `--runs` times with the
installed `.venv/bin/dbkit` (a whole process, as a user runs it); the median and minimum wall
clock are printed, with the per-migration cost. Work files live in benchmarks/.work/import/.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "import"
sys.path.insert(0, str(HERE))


def _migrations(project: Path) -> list[tuple[str, str, str, bool]]:
    """(slug, up, down, transactional) in chain order."""
    out = []
    for path in sorted((project / "migrations" / "versions").glob("*.py")):
        tree = ast.parse(path.read_text())
        values = {
            t.id: ast.literal_eval(n.value)
            for n in tree.body
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        name = path.stem
        out.append(
            (
                name.split("_", 1)[1],
                (project / "sql" / f"{name}.sql").read_text(),
                (project / "rollbacks" / f"{name}.sql").read_text(),
                values.get("transactional", True),
            )
        )
    return out


def lay_out(tool: str, migrations, target: Path) -> None:
    target.mkdir(parents=True)
    for number, (slug, up, down, transactional) in enumerate(migrations, start=1):
        if tool == "golang-migrate":
            (target / f"{number}_{slug}.up.sql").write_text(up)
            (target / f"{number}_{slug}.down.sql").write_text(down)
        elif tool == "dbmate":
            option = "" if transactional else " transaction:false"
            (target / f"{20240101000000 + number}_{slug}.sql").write_text(
                f"-- migrate:up{option}\n{up}\n-- migrate:down{option}\n{down}"
            )
        elif tool == "goose":
            head = "" if transactional else "-- +goose NO TRANSACTION\n"
            (target / f"{number:05d}_{slug}.sql").write_text(
                f"{head}-- +goose Up\n{up}\n-- +goose Down\n{down}"
            )
        elif tool == "flyway":
            version = f"{number // 100}.{number % 100}"
            (target / f"V{version}__{slug}.sql").write_text(up)
            (target / f"U{version}__{slug}.sql").write_text(down)
        elif tool == "diesel":
            folder = target / f"{20240101000000 + number}_{slug}"
            folder.mkdir()
            (folder / "up.sql").write_text(up)
            (folder / "down.sql").write_text(down)
            if not transactional:
                (folder / "metadata.toml").write_text("run_in_transaction = false\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    from generate import generate

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    generate(WORK / "corpus", args.count)
    migrations = _migrations(WORK / "corpus")
    dbkit = ROOT / ".venv" / "bin" / "dbkit"
    print(f"dbkit import, {len(migrations)} migrations, {args.runs} runs each (wall clock)")
    print(f"{'format':<16} {'median s':>9} {'min s':>7} {'ms/migration':>13}")
    for tool in ("golang-migrate", "dbmate", "goose", "flyway", "diesel"):
        source = WORK / tool
        lay_out(tool, migrations, source)
        times = []
        for run in range(args.runs + 1):
            into = WORK / f"{tool}-project-{run}"
            t0 = time.perf_counter()
            done = subprocess.run(
                [str(dbkit), "import", "--from", tool, str(source), "--into", str(into)],
                capture_output=True,
                text=True,
            )
            elapsed = time.perf_counter() - t0
            if done.returncode != 0:
                print(done.stdout, done.stderr, file=sys.stderr)
                return 1
            if run:  # the first run warms the caches, untimed
                times.append(elapsed)
            shutil.rmtree(into)
        median = statistics.median(times)
        print(
            f"{tool:<16} {median:>9.2f} {min(times):>7.2f} {median * 1000 / len(migrations):>13.1f}"
        )
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
