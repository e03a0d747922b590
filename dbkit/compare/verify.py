"""``dbkit verify``: prove that every rollback restores the schema exactly.

In one throwaway database (see :mod:`dbkit.compare.scratch`), for each migration in order::

    catalog before -> up -> catalog "after" + pre/post-checks -> down -> catalog == before?
                   -> up again -> catalog == "after"?

then the whole chain: from head down to base (catalog == the empty start) and up to head
again (catalog == the first head). The first migration that fails stops the walk; its
verdict names the stage and carries the catalog differences.

Speed: the walk moves one database forward and never rebuilds anything, so each migration
costs its own SQL three times and three catalog snapshots (about 20-50 ms each). That is
cheaper than cloning a template database at each step, so none is cloned: the one database
is created from ``template0`` once and dropped at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbkit.compare import catalog
from dbkit.compare.catalog import Difference, Snapshot
from dbkit.compare.scratch import scratch_database
from dbkit.engine import database, registry
from dbkit.engine.runner import Runner
from dbkit.engine.steps import steps_down, steps_up
from dbkit.errors import DbkitError, ExitCode
from dbkit.plan.checks import CheckResult, describe_failures
from dbkit.plan.graph import Migration, load_plan
from dbkit.secrets import mask_url
from dbkit.settings import Settings

if TYPE_CHECKING:
    import psycopg

# Stages of one migration's verification, in order; a verdict names the one that failed.
STAGES = (
    "pre-checks",
    "up",
    "post-checks",
    "down",
    "rollback restores schema",
    "up again",
    "reapply matches",
)


@dataclass
class MigrationVerdict:
    """How one migration fared."""

    revision: str
    name: str
    phase: str
    ok: bool = True
    stage: str | None = None  # the failed stage (see STAGES)
    message: str | None = None
    differences: list[Difference] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "name": self.name,
            "phase": self.phase,
            "ok": self.ok,
            "stage": self.stage,
            "message": self.message,
            "differences": [d.to_dict() for d in self.differences],
            "checks": [c.to_dict() for c in self.checks],
            "duration_ms": round(self.duration_ms, 3),
        }


@dataclass
class ChainVerdict:
    """The whole chain: head -> base (must equal the empty start) -> head (must equal head)."""

    ok: bool = True
    stage: str | None = None  # down to base | base matches | up to head | head matches
    message: str | None = None
    differences: list[Difference] = field(default_factory=list)
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stage": self.stage,
            "message": self.message,
            "differences": [d.to_dict() for d in self.differences],
            "duration_ms": round(self.duration_ms, 3),
        }


@dataclass
class VerifyResult:
    server: str
    scratch_database: str
    migrations_total: int
    migrations: list[MigrationVerdict] = field(default_factory=list)
    chain: ChainVerdict | None = None
    duration_ms: float = 0.0

    @property
    def failure(self) -> MigrationVerdict | ChainVerdict | None:
        for verdict in self.migrations:
            if not verdict.ok:
                return verdict
        if self.chain is not None and not self.chain.ok:
            return self.chain
        return None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.ok else ExitCode.VALIDATION_FAILED

    @property
    def message(self) -> str:
        failure = self.failure
        if failure is None and not self.migrations:
            return "nothing to verify: the project has no migrations"
        if failure is None:
            return (
                f"verified {len(self.migrations)} migration"
                f"{'s' if len(self.migrations) != 1 else ''}: every rollback restores the "
                f"schema and the chain goes head -> base -> head cleanly "
                f"({self.duration_ms / 1000:.2f}s)"
            )
        return failure.message or "verification failed"

    def to_dict(self) -> dict[str, Any]:
        failure = self.failure
        return {
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "message": self.message,
            "server": self.server,
            "scratch_database": self.scratch_database,
            "migrations_total": self.migrations_total,
            "migrations_checked": len(self.migrations),
            "failure": failure.to_dict() if failure is not None else None,
            "migrations": [v.to_dict() for v in self.migrations],
            "chain": self.chain.to_dict() if self.chain is not None else None,
            "duration_ms": round(self.duration_ms, 3),
        }


Progress = Callable[[MigrationVerdict], None]


def verify(
    settings: Settings,
    *,
    server_url: str | None = None,
    progress: Progress | None = None,
) -> VerifyResult:
    """Verify every migration of the project's plan in a throwaway database.

    ``server_url`` names the server to create it on (its database is only used to connect;
    the role needs CREATEDB); without it, the project's embedded server. ``settings.url``,
    the database ``migrate`` targets, is never used. Returns a :class:`VerifyResult`;
    raises DbkitError only when verification cannot run (broken plan, unreachable server,
    no right to create a database).
    """
    from dbkit.engine.workflow import CheckBook

    t0 = time.perf_counter()
    plan = load_plan(settings.project_dir)
    book = CheckBook(plan)
    book.preload(list(plan))  # a malformed check file stops us before connecting
    if server_url is None:
        from dbkit.embedded import server as embedded

        server_url = embedded.ensure_running(settings.project_dir)
        server = f"embedded server ({embedded.data_dir(settings.project_dir)})"
    else:
        server = mask_url(server_url)
    result = VerifyResult(
        server=server,
        scratch_database="",
        migrations_total=len(plan),
    )
    with scratch_database(
        server_url,
        settings,
        prefix="dbkit_verify",
        purpose="dbkit verify",
        hint="use --url to point verify at a server where this role may CREATE DATABASE",
    ) as scratch:
        result.scratch_database = scratch.name
        conn = database.connect(scratch.url, settings)
        try:
            _walk(conn, settings, plan.migrations, book, result, progress)
        finally:
            conn.close()
    result.duration_ms = (time.perf_counter() - t0) * 1000
    return result


def _walk(conn, settings, migrations, book, result: VerifyResult, progress) -> None:
    # The scratch database is thrown away: waiting for each commit to reach disk buys nothing.
    conn.execute("SET synchronous_commit = off")
    registry.ensure_registry(conn)
    runner = Runner(conn, settings)
    empty = catalog.snapshot(conn)
    before = empty
    for migration in migrations:
        verdict, before = _verify_one(conn, runner, migration, book, before)
        result.migrations.append(verdict)
        if progress is not None:
            progress(verdict)
        if not verdict.ok:
            return
    if migrations:
        result.chain = _verify_chain(conn, runner, list(migrations), empty, before)


def _verify_one(
    conn: psycopg.Connection,
    runner: Runner,
    migration: Migration,
    book,
    before: Snapshot,
) -> tuple[MigrationVerdict, Snapshot]:
    t0 = time.perf_counter()
    verdict = MigrationVerdict(migration.revision, migration.name, migration.phase)
    name = migration.name
    current = before

    def fail(stage: str, message: str, differences: list[Difference] | None = None):
        verdict.ok = False
        verdict.stage = stage
        verdict.message = f"{name}: {message}"
        verdict.differences = differences or []
        verdict.duration_ms = (time.perf_counter() - t0) * 1000
        return verdict, current

    try:
        stage = "pre-checks"
        failed = _checks(runner, book, migration.pre_check_path, f"pre-check of {name}", verdict)
        if failed:
            return fail(stage, _failed_checks(failed))
        stage = "up"
        runner.run(steps_up([migration]))
        current = after = catalog.snapshot(conn)
        stage = "post-checks"
        failed = _checks(runner, book, migration.post_check_path, f"post-check of {name}", verdict)
        if failed:
            return fail(stage, _failed_checks(failed))
        stage = "down"
        runner.run(steps_down([migration]))
        current = back = catalog.snapshot(conn)
        differences = catalog.diff(before, back)
        if differences:
            return fail(
                "rollback restores schema",
                f"its rollback does not restore the schema: {_count(differences)} differ from "
                "before the migration",
                differences,
            )
        stage = "up again"
        runner.run(steps_up([migration]))
        current = again = catalog.snapshot(conn)
        differences = catalog.diff(after, again)
        if differences:
            return fail(
                "reapply matches",
                f"applying it again after its rollback builds a different schema: "
                f"{_count(differences)} differ from its first run",
                differences,
            )
    except DbkitError as exc:
        return fail(stage, f"{stage} failed: {exc}")
    verdict.duration_ms = (time.perf_counter() - t0) * 1000
    return verdict, again


def _verify_chain(
    conn: psycopg.Connection,
    runner: Runner,
    migrations: list[Migration],
    empty: Snapshot,
    head: Snapshot,
) -> ChainVerdict:
    t0 = time.perf_counter()
    verdict = ChainVerdict()

    def fail(stage: str, message: str, differences: list[Difference] | None = None):
        verdict.ok = False
        verdict.stage = stage
        verdict.message = message
        verdict.differences = differences or []
        verdict.duration_ms = (time.perf_counter() - t0) * 1000
        return verdict

    stage = "down to base"
    try:
        runner.run(steps_down(migrations))
        differences = catalog.diff(empty, catalog.snapshot(conn))
        if differences:
            return fail(
                "base matches",
                f"rolling the whole chain back from head to base does not return to the empty "
                f"database: {_count(differences)} differ",
                differences,
            )
        stage = "up to head"
        runner.run(steps_up(migrations))
        differences = catalog.diff(head, catalog.snapshot(conn))
        if differences:
            return fail(
                "head matches",
                f"migrating base -> head again builds a different schema: {_count(differences)} "
                "differ from the first head",
                differences,
            )
    except DbkitError as exc:
        return fail(stage, f"chain {stage} failed: {exc}")
    verdict.duration_ms = (time.perf_counter() - t0) * 1000
    return verdict


def _checks(runner: Runner, book, path, when: str, verdict: MigrationVerdict) -> list:
    checks = list(book.file(path).checks)
    if not checks:
        return []
    start = len(runner.check_results)
    failed = runner.run_checks(checks, when)
    verdict.checks.extend(runner.check_results[start:])
    return failed


def _failed_checks(failed: list[CheckResult]) -> str:
    return describe_failures(failed, with_when=True)


def _count(differences: list[Difference]) -> str:
    n = len(differences)
    return f"{n} object{'s' if n != 1 else ''}"
