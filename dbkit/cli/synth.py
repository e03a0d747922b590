"""``dbkit synth``: synthetic data from the catalog and the project's profiles."""

from __future__ import annotations

import sys

import click

from dbkit.cli.base import Context, _emit_json, json_option, main


class _RichProgress:
    """A progress bar per run (rows and rows/s) on a terminal, drawn with rich on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>12} rows/s"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = None
        self._done = 0
        self._t0 = 0.0

    def start(self, total_rows: int, tables) -> None:
        import time

        self._t0 = time.perf_counter()
        self._bar.start()
        self._task = self._bar.add_task("synth", total=total_rows, rate="-")

    def table(self, name: str, rows: int) -> None:
        self._bar.update(self._task, description=name)

    def advance(self, rows: int) -> None:
        import time

        self._done += rows
        elapsed = time.perf_counter() - self._t0
        rate = f"{self._done / elapsed:,.0f}" if elapsed > 0 else "-"
        self._bar.update(self._task, advance=rows, rate=rate)

    def done(self) -> None:
        self._bar.stop()


@main.command()
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    metavar="NAME",
    help="Use this profile (synth/profiles/NAME.toml); repeatable. Default: every profile of "
    "the project.",
)
@click.option(
    "--scale",
    type=int,
    metavar="N",
    help="Rows per table: N times the profile's weight (rows = ...), 1 for tables without "
    "one. Default 100 when --rows is not given either.",
)
@click.option(
    "--rows",
    "rows",
    multiple=True,
    metavar="TABLE=N",
    help="Exactly N rows for TABLE; repeatable. Alone, only the named tables are filled; with "
    "--scale, it overrides the scale for that table.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same rows.")
@click.option(
    "--ttl",
    default="7d",
    show_default=True,
    metavar="DURATION",
    help="Synthetic rows (tables with is_synthetic and expires_at) expire after this long "
    "(e.g. 7d, 12h, 30m, 0s).",
)
@click.option(
    "--cleanup",
    is_flag=True,
    help="Instead of loading: run cleanup_expired_synthetic_data() (seed 001) and report what it "
    "removed, per table.",
)
@click.option(
    "--bulk/--no-bulk",
    default=None,
    help="--bulk: load every table without its secondary indexes and foreign keys, then "
    "rebuild and validate them in the same transaction (the table is locked until the "
    "commit); --no-bulk: never (plain COPY, row locks only, for a database in use). Default: "
    "bulk for a table that gets at least 10000 rows and at least as many as it holds. Tables "
    "this role does not own (or whose parents it may not REFERENCE), partitioned and "
    "inherited tables always get plain COPY.",
)
@click.option(
    "--analyze/--no-analyze",
    default=True,
    show_default=True,
    help="After the commit, ANALYZE the loaded tables (over two sessions); --no-analyze "
    "leaves their statistics to autovacuum.",
)
@json_option
@click.pass_obj
def synth(
    obj: Context,
    profiles: tuple[str, ...],
    scale: int | None,
    rows: tuple[str, ...],
    seed: int,
    ttl: str,
    cleanup: bool,
    bulk: bool | None,
    analyze: bool,
    as_json: bool,
) -> None:
    """Fill the migrated database with realistic synthetic rows, fast.

    Works on any dbkit project from the catalog alone: types, NOT NULL, CHECK ranges and IN
    lists, enums, unique columns, foreign keys (parents loaded first, self-references,
    nullable columns sometimes NULL). Profiles in synth/profiles/ add meaning per table and
    column (docs/synth.md). Rows stream through COPY in one transaction: on any error nothing
    is written. The database must be at the head revision.
    """
    from dbkit import api
    from dbkit.synth.loader import parse_rows

    settings = obj.settings()
    progress = _RichProgress() if (sys.stderr.isatty() and not as_json) else None
    result = api.synth(
        settings,
        profiles=list(profiles) or None,
        scale=scale,
        rows=parse_rows(rows),
        seed=seed,
        ttl=ttl,
        cleanup=cleanup,
        progress=progress,
        bulk=bulk,
        analyze=analyze,
    )
    if as_json:
        _emit_json(result.to_dict())
        return
    if result.cleanup:
        for table, count in sorted(result.removed_by_table.items()):
            click.echo(f"removed {count:>10} rows from {table}")
        click.echo(f"cleanup_expired_synthetic_data() removed {result.removed} expired rows")
        return
    for load in result.tables:
        click.echo(f"{load.table:<32} {load.rows:>10} rows  {load.rows_per_second:>10,.0f} rows/s")
        for note in load.notes:
            click.echo(f"    note: {note}")
    profiles_text = ", ".join(result.profiles) if result.profiles else "none (catalog only)"
    click.echo(
        f"{result.rows} rows in {len(result.tables)} tables in {result.duration_ms / 1000:.2f}s "
        f"({result.rows_per_second:,.0f} rows/s); seed {result.seed}; profiles: {profiles_text}"
    )
