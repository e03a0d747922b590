"""Generate a project shaped like a real application's history, for benchmarking.

    python benchmarks/generate_app.py OUTPUT_DIR [--count 300] [--seed 20240601]

Where generate.py builds a schema module by module (mostly CREATE statements), this corpus is
what years of releases look like: a handful of tables created first and filled with rows, then
hundreds of small migrations that change them: add a column (often with a backfill UPDATE),
add an index or a NOT VALID check then VALIDATE it, change a default, recreate a view, replace
a function; few migrations create anything new (a small table now and then), and a few build an
index CONCURRENTLY outside a transaction. Per-migration bookkeeping (the history row, the
data-preservation query of a migration that could remove rows, which here is most of them) is
what dominates such a history.

Every migration has an exact rollback (the previous view or function definition, the previous
default), so ``dbkit rollback --to base`` leaves an empty ``public`` schema. Deterministic for a
given seed and count.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

from generate import Migration, write

BASE_TABLES = ["accounts", "users", "projects", "tasks", "comments", "invoices", "events", "files"]
RELEASES = 10
ROWS = 300


class AppGenerator:
    def __init__(self, count: int, seed: int) -> None:
        self.count = count
        self.rng = random.Random(seed)
        self.columns: dict[str, list[str]] = {t: ["id", "name", "created_at"] for t in BASE_TABLES}
        self.defaults: dict[tuple[str, str], str | None] = {}
        self.views: dict[str, str] = {}  # name -> current definition
        self.functions: dict[str, str] = {}  # name -> current body
        self.serial = 0

    def name(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}_{self.serial}"

    # -- the first release: tables, rows, a view and a function per table ---------------------

    def base(self) -> list[Migration]:
        migrations = []
        for table in BASE_TABLES:
            up = (
                f"CREATE TABLE {table} (\n    id bigint GENERATED ALWAYS AS IDENTITY,\n"
                f"    name text NOT NULL,\n    created_at timestamptz NOT NULL DEFAULT now(),\n"
                f"    CONSTRAINT pk_{table} PRIMARY KEY (id)\n);\n\n"
                f"INSERT INTO {table} (name)\nSELECT '{table} ' || n FROM generate_series(1, "
                f"{ROWS}) AS n;\n"
            )
            view = f"SELECT id, name FROM {table}"
            self.views[f"v_{table}"] = view
            up += f"\nCREATE VIEW v_{table} AS\n{view};\n"
            body = f"SELECT count(*) FROM {table}"
            self.functions[f"{table}_count"] = body
            up += (
                f"\nCREATE FUNCTION {table}_count() RETURNS bigint\nLANGUAGE sql STABLE\n"
                f"AS $$ {body} $$;\n"
            )
            down = f"DROP FUNCTION {table}_count();\nDROP VIEW v_{table};\nDROP TABLE {table};\n"
            migrations.append(Migration(f"create_{table}", "release_01", up, down))
        return migrations

    # -- the later releases: small changes --------------------------------------------------

    def add_column(self) -> Migration:
        table = self.rng.choice(list(self.columns))
        column = self.name("c")
        kind = self.rng.choice(["integer", "text", "boolean", "numeric(12, 2)"])
        up = f"ALTER TABLE {table} ADD COLUMN {column} {kind};\n"
        if self.rng.random() < 0.6:
            value = {
                "integer": "id % 7",
                "text": "'v' || id",
                "boolean": "id % 2 = 0",
                "numeric(12, 2)": "id * 1.5",
            }[kind]
            up += f"\nUPDATE {table} SET {column} = {value};\n"
        self.columns[table].append(column)
        return Migration(
            f"add_{column}_to_{table}",
            "",
            up,
            f"ALTER TABLE {table} DROP COLUMN {column};\n",
        )

    def add_index(self, concurrently: bool = False) -> Migration:
        table = self.rng.choice(list(self.columns))
        column = self.rng.choice(self.columns[table][1:])
        index = self.name(f"ix_{table}")
        if concurrently:
            return Migration(
                f"index_{table}_{column}_concurrently",
                "",
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table} ({column});\n",
                f"DROP INDEX CONCURRENTLY IF EXISTS {index};\n",
                transactional=False,
            )
        return Migration(
            f"index_{table}_{column}",
            "",
            f"CREATE INDEX {index} ON {table} ({column});\n",
            f"DROP INDEX {index};\n",
        )

    def add_check(self) -> Migration:
        table = self.rng.choice(list(self.columns))
        constraint = self.name(f"ck_{table}")
        return Migration(
            f"check_{table}_name",
            "",
            f"ALTER TABLE {table}\n    ADD CONSTRAINT {constraint} CHECK (length(name) > 0) "
            f"NOT VALID;\n\nALTER TABLE {table} VALIDATE CONSTRAINT {constraint};\n",
            f"ALTER TABLE {table} DROP CONSTRAINT {constraint};\n",
        )

    def set_default(self) -> Migration:
        table = self.rng.choice(list(self.columns))
        key = (table, "name")
        before = self.defaults.get(key)
        after = f"'unnamed {self.name('d')}'"
        self.defaults[key] = after
        down = (
            f"ALTER TABLE {table} ALTER COLUMN name SET DEFAULT {before};\n"
            if before
            else f"ALTER TABLE {table} ALTER COLUMN name DROP DEFAULT;\n"
        )
        return Migration(
            f"default_{table}_name",
            "",
            f"ALTER TABLE {table} ALTER COLUMN name SET DEFAULT {after};\n",
            down,
        )

    def recreate_view(self) -> Migration:
        view = self.rng.choice(list(self.views))
        table = view.removeprefix("v_")
        before = self.views[view]
        after = f"SELECT id, name, upper(name) AS label_{self.name('l')} FROM {table}"
        self.views[view] = after
        return Migration(
            f"recreate_{view}",
            "",
            f"DROP VIEW {view};\n\nCREATE VIEW {view} AS\n{after};\n",
            f"DROP VIEW {view};\n\nCREATE VIEW {view} AS\n{before};\n",
        )

    def replace_function(self) -> Migration:
        function = self.rng.choice(list(self.functions))
        table = function.removesuffix("_count")
        before = self.functions[function]
        after = f"SELECT count(*) FROM {table} WHERE id > {self.rng.randint(0, 50)}"
        self.functions[function] = after
        template = (
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS bigint\nLANGUAGE sql STABLE\n"
            "AS $$ {body} $$;\n"
        )
        return Migration(
            f"replace_{function}",
            "",
            template.format(body=after),
            template.format(body=before),
        )

    def create_table(self) -> Migration:
        parent = self.rng.choice(BASE_TABLES)
        table = self.name(f"{parent}_extra")
        self.columns[table] = ["id", "name"]
        return Migration(
            f"create_{table}",
            "",
            f"CREATE TABLE {table} (\n    id bigint GENERATED ALWAYS AS IDENTITY,\n"
            f"    name text NOT NULL,\n    {parent}_id bigint NOT NULL,\n"
            f"    CONSTRAINT pk_{table} PRIMARY KEY (id),\n"
            f"    CONSTRAINT fk_{table}_{parent} FOREIGN KEY ({parent}_id) REFERENCES "
            f"{parent} (id)\n);\n\nCREATE INDEX ix_{table}_{parent} ON {table} ({parent}_id);\n",
            f"DROP TABLE {table};\n",
        )

    def build(self) -> list[Migration]:
        migrations = self.base()
        kinds = [
            (self.add_column, 30),
            (self.add_index, 18),
            (self.recreate_view, 14),
            (self.replace_function, 12),
            (self.set_default, 10),
            (self.add_check, 9),
            (self.create_table, 5),
            (lambda: self.add_index(concurrently=True), 2),
        ]
        functions, weights = zip(*kinds, strict=True)
        rest = self.count - len(migrations)
        for i in range(rest):
            migration = self.rng.choices(functions, weights)[0]()
            migration.phase = f"release_{2 + i * (RELEASES - 1) // rest:02d}"
            migrations.append(migration)
        return migrations


def generate(project: Path, count: int = 300, seed: int = 20240601) -> list[Migration]:
    """Write a fresh project of ``count`` migrations into ``project`` (emptied first)."""
    if count < len(BASE_TABLES) + 1:
        raise ValueError(f"count must be at least {len(BASE_TABLES) + 1}")
    project = Path(project)
    for folder in ("migrations", "sql", "rollbacks", "validations"):
        shutil.rmtree(project / folder, ignore_errors=True)
    migrations = AppGenerator(count, seed).build()
    write(project, migrations)
    return migrations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="project directory to (re)write")
    parser.add_argument("--count", type=int, default=300, help="number of migrations (300)")
    parser.add_argument("--seed", type=int, default=20240601, help="random seed")
    args = parser.parse_args(argv)
    migrations = generate(args.output, args.count, args.seed)
    non_tx = sum(not m.transactional for m in migrations)
    print(f"wrote {len(migrations)} migrations ({non_tx} non-transactional)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
