"""``dbkit drift``: has someone changed the live database's schema by hand?

The live database's catalog is compared with what the migrations produce at the revision it
records in ``alembic_version``: those migrations are replayed into a throwaway database (see
:mod:`dbkit.compare.scratch`), both catalogs are snapshotted (:mod:`dbkit.compare.catalog`)
and every object that is missing, extra or changed on the live side is reported.

The live database is only read: its session runs with ``default_transaction_read_only``,
so even a bug here could not write to it. The throwaway database goes on the live server by
default (same PostgreSQL major, so definitions deparse identically); a role without CREATEDB
there can point it elsewhere with ``scratch_url`` (``"embedded"`` for the project's embedded
server), ideally a server of the same major.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from dbkit.compare import catalog
from dbkit.compare.baseline import without_tables
from dbkit.compare.catalog import Difference
from dbkit.compare.scratch import scratch_database
from dbkit.engine import database, interrupts, registry
from dbkit.engine.adopt import found_histories
from dbkit.engine.database import one_line
from dbkit.engine.runner import Runner
from dbkit.engine.steps import steps_up
from dbkit.errors import DbkitError, ExitCode, Interrupted
from dbkit.plan.graph import load_plan
from dbkit.secrets import mask_url, scrub
from dbkit.settings import Settings
from dbkit.text import plural

EMBEDDED = "embedded"


@dataclass
class DriftResult:
    database: str
    revision: str | None
    revision_name: str | None
    scratch_server: str
    differences: list[Difference] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)  # applied migrations edited since they ran
    notes: list[str] = field(default_factory=list)
    objects_compared: int = 0
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.ok else ExitCode.CHECKSUM_MISMATCH

    def of_kind(self, kind: str) -> list[Difference]:
        return [d for d in self.differences if d.kind == kind]

    @property
    def message(self) -> str:
        at = f"revision {self.revision}" if self.revision else "base (no migration applied)"
        if self.ok:
            return (
                f"no drift: the schema matches what the migrations build at {at} "
                f"({plural(self.objects_compared, 'object')} compared)"
            )
        counts = ", ".join(
            f"{len(self.of_kind(kind))} {kind}"
            for kind in ("missing", "extra", "changed")
            if self.of_kind(kind)
        )
        return f"drift: the schema differs from what the migrations build at {at}: {counts}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "message": self.message,
            "database": self.database,
            "revision": self.revision,
            "revision_name": self.revision_name,
            "scratch_server": self.scratch_server,
            "objects_compared": self.objects_compared,
            "missing": [d.to_dict() for d in self.of_kind("missing")],
            "extra": [d.to_dict() for d in self.of_kind("extra")],
            "changed": [d.to_dict() for d in self.of_kind("changed")],
            "edited_migrations": self.edited,
            "notes": self.notes,
            "duration_ms": round(self.duration_ms, 3),
        }


def drift(settings: Settings, *, scratch_url: str | None = None) -> DriftResult:
    """Compare the live database (``settings``) with its revision replayed in a scratch database.

    ``scratch_url``: the server for the throwaway database (default: the live server;
    ``"embedded"``: the project's embedded server). Returns a :class:`DriftResult` whose
    ``differences`` read from the migrations' point of view: ``missing`` objects are built by
    the migrations but absent from the live database, ``extra`` ones exist only there.
    """
    with registry.scoped(settings.schema):  # a tenant schema: its registry, its objects only
        return _drift(settings, scratch_url)


def _drift(settings: Settings, scratch_url: str | None) -> DriftResult:
    import psycopg

    t0 = time.perf_counter()
    plan = load_plan(settings.project_dir)
    live_url = settings.database_url()
    live = database.connect(live_url, settings)
    try:
        live.execute("SET default_transaction_read_only = on")
        state = registry.read_state(live)
        position = registry.position_in(plan, state)
        applied = list(plan.migrations[: position + 1])
        # another tool's history table (left behind by `dbkit adopt`) is bookkeeping
        foreign = found_histories(live)
        foreign_schemas = tuple("sqitch" for tool, _ in foreign if tool == "sqitch")
        live_snapshot = catalog.snapshot(
            live,
            exclude_schemas=(*catalog.DEFAULT_EXCLUDED_SCHEMAS, *foreign_schemas),
            only_schema=settings.schema,
        )
    except psycopg.Error as exc:
        raise DbkitError(
            f"reading the live database failed: {one_line(scrub(str(exc), live_url))}"
        ) from None
    except KeyboardInterrupt as exc:
        raise interrupts.interrupted(
            exc, "dbkit drift", "the live database was only read"
        ) from None
    finally:
        live.close()

    if scratch_url == EMBEDDED:
        from dbkit.embedded import server as embedded

        server_url = embedded.ensure_running(settings.project_dir)
        scratch_server = f"embedded server ({embedded.data_dir(settings.project_dir)})"
    elif scratch_url is None and settings.uses_embedded:
        server_url = live_url
        scratch_server = settings.display_url()
    else:
        server_url = scratch_url or live_url
        scratch_server = mask_url(server_url)

    result = DriftResult(
        database=settings.display_url(),
        revision=state.current,
        revision_name=applied[-1].name if applied else None,
        scratch_server=scratch_server,
        edited=[
            m.name
            for m in applied
            if state.recorded_checksums.get(m.revision, m.checksum) != m.checksum
        ],
    )
    scratch_name = ""
    try:
        with scratch_database(
            server_url,
            settings,
            prefix="dbkit_drift",
            purpose="dbkit drift (it replays the migrations there)",
            hint="or pass --scratch-url with a server where it may, of the same PostgreSQL major "
            "(--scratch-url embedded uses the project's embedded server)",
        ) as scratch:
            conn = database.connect(scratch.url, settings)
            try:
                database.throwaway(conn)  # a throwaway database
                from dbkit.engine.extensions import refuse_missing

                refuse_missing(
                    conn,
                    applied,
                    server=scratch_server,
                    hint="replay them on a server that has them: `dbkit drift --scratch-url URL`",
                )
                registry.ensure_registry(conn)
                try:
                    Runner(conn, settings).run(steps_up(applied))
                except Interrupted:
                    raise
                except DbkitError as exc:
                    raise DbkitError(
                        f"replaying the migrations up to {state.current} in a throwaway database "
                        f"failed: {exc}"
                    ) from None
                expected = catalog.snapshot(conn, only_schema=settings.schema)
            finally:
                conn.close()
    except (KeyboardInterrupt, Interrupted) as exc:
        raise interrupts.interrupted(
            exc,
            "dbkit drift",
            f"its throwaway database {scratch_name or '(not created yet)'} was dropped; the "
            "live database was only read",
        ) from None

    live_snapshot = without_tables(
        live_snapshot, tuple(table for tool, table in foreign if tool != "sqitch")
    )
    result.differences = catalog.diff(expected, live_snapshot)
    for tool, table in foreign:
        where = "schema sqitch" if tool == "sqitch" else table
        result.notes.append(
            f"{tool}'s history ({where}) is not compared; drop it once nothing needs it"
        )
    result.objects_compared = len(expected)
    live_major = (live_snapshot.server_version or 0) // 10000
    scratch_major = (expected.server_version or 0) // 10000
    if live_major != scratch_major:
        result.notes.append(
            f"the scratch server runs PostgreSQL {scratch_major} and the live one "
            f"{live_major}: definitions can differ in wording for that reason alone"
        )
    if result.edited:
        result.notes.append(
            f"applied migrations edited since they ran: {', '.join(result.edited)}; the "
            "replay used the current files"
        )
    result.duration_ms = (time.perf_counter() - t0) * 1000
    return result
