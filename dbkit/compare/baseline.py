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
from dbkit.engine import database, interrupts, registry
from dbkit.engine.runner import Runner
from dbkit.engine.steps import steps_up
from dbkit.errors import DbkitError, Interrupted

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
    try:
        return _replayed_diff(live, server_url, settings, migrations, excluded, ignore_tables)
    except (KeyboardInterrupt, Interrupted) as exc:
        raise interrupts.interrupted(
            exc,
            "the schema check (the migrations replayed in a throwaway database)",
            "the throwaway database was dropped; nothing was changed",
        ) from None


def _replayed_diff(live, server_url, settings, migrations, excluded, ignore_tables):
    with scratch_database(
        server_url,
        settings,
        prefix="dbkit_baseline",
        purpose="the baseline check (it replays the migrations there)",
        hint="or skip the check with --force after comparing the schema yourself",
    ) as scratch:
        replay = database.connect(scratch.url, settings)
        try:
            database.throwaway(replay)
            registry.ensure_registry(replay)
            try:
                Runner(replay, settings).run(steps_up(migrations))
            except Interrupted:
                raise
            except DbkitError as exc:
                raise DbkitError(
                    f"replaying the migrations in a throwaway database failed: {exc}"
                ) from None
            expected = catalog.snapshot(replay, exclude_schemas=excluded)
        finally:
            replay.close()
    return catalog.diff(expected, without_tables(live, ignore_tables))


def without_tables(snapshot: catalog.Snapshot, tables: tuple[str, ...]) -> catalog.Snapshot:
    """``snapshot`` without ``tables`` (schema-qualified, as the catalog keys them) and what
    hangs off them: columns, constraints, triggers, comments (keyed under the table), indexes
    (whose ``table`` is one of them) and the sequences they own."""
    if not tables:
        return snapshot

    def belongs(key: str, attributes: dict) -> bool:
        for table in tables:
            if key == table or key.startswith(table + ".") or key.endswith(" " + table):
                return True
            if f" {table}." in key:
                return True
            for value in attributes.values():
                if isinstance(value, str) and (value == table or value.startswith(table + ".")):
                    return True
        return False

    objects = {
        category: {k: v for k, v in entries.items() if not belongs(k, v)}
        for category, entries in snapshot.objects.items()
    }
    return catalog.Snapshot(objects=objects, server_version=snapshot.server_version)
