"""The check before ``dbkit baseline`` / ``dbkit adopt``: does the live schema match REV?

Baselining records migrations as applied without running them, so it is only right when the
live schema is what those migrations build. :func:`compare_with_plan` replays the plan up to
the revision into a throwaway database (as ``dbkit drift`` does) and diffs the catalogs. The
source tool's own bookkeeping (its history table with its sequence and indexes, the
``sqitch`` schema) is not part of the schema and is left out of the comparison.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbkit.compare import catalog
from dbkit.compare.catalog import Difference
from dbkit.compare.scratch import scratch_database
from dbkit.engine import database, registry
from dbkit.engine.runner import Runner
from dbkit.engine.steps import steps_up
from dbkit.errors import DbkitError

if TYPE_CHECKING:
    import psycopg

    from dbkit.plan.graph import Migration
    from dbkit.settings import Settings


def compare_with_plan(
    conn: psycopg.Connection,
    settings: Settings,
    migrations: list[Migration],
    *,
    ignore_tables: tuple[str, ...] = (),
    ignore_schemas: tuple[str, ...] = (),
) -> list[Difference]:
    """Differences between the live database (``conn``) and ``migrations`` replayed, read from
    the migrations' point of view (``missing``: built by them, absent here)."""
    excluded = (*catalog.DEFAULT_EXCLUDED_SCHEMAS, *ignore_schemas)
    live = catalog.snapshot(conn, exclude_schemas=excluded)
    server_url = settings.database_url()
    with scratch_database(
        server_url,
        settings,
        prefix="dbkit_baseline",
        purpose="the baseline check (it replays the migrations there)",
        hint="or skip the check with --force after comparing the schema yourself",
    ) as scratch:
        replay = database.connect(scratch.url, settings)
        try:
            replay.execute("SET synchronous_commit = off")
            registry.ensure_registry(replay)
            try:
                Runner(replay, settings).run(steps_up(migrations))
            except DbkitError as exc:
                raise DbkitError(
                    f"replaying the migrations in a throwaway database failed: {exc}"
                ) from None
            expected = catalog.snapshot(replay, exclude_schemas=excluded)
        finally:
            replay.close()
    return without_tables(catalog.diff(expected, live), ignore_tables)


def without_tables(differences: list[Difference], tables: tuple[str, ...]) -> list[Difference]:
    """``differences`` without the extra objects of ``tables`` (their columns, constraints,
    indexes and sequences are named after them)."""
    names = tuple(t.rsplit(".", 1)[-1].strip('"') for t in tables)
    return [d for d in differences if not (d.kind == "extra" and any(n in d.key for n in names))]
