"""``dbkit verify``: prove that every rollback restores the schema exactly.

In one throwaway database (see :mod:`dbkit.compare.scratch`), for each migration in order::

    catalog before -> up -> catalog "after" + pre/post-checks -> down -> catalog == before?
                   -> up again -> catalog == "after"?

then the whole chain: from head down to base (catalog == the empty start) and up to head
again (catalog == the first head). The first migration that fails stops the walk; its
verdict names the stage and carries the catalog differences.

With ``keep_going`` a failure does not stop the walk: the database is rebuilt in a fresh
throwaway database up to and including the failed migration (forward only), and the next
migration is verified from that state, so one run reports every broken rollback of a long
history. The chain is only walked when every migration passed. A migration that does not
apply at all ends the walk (what follows it cannot be built); the rest is reported as not
verified.

Differences have a kind (:data:`dbkit.compare.catalog.DIFFERENCE_KINDS`): ``column-order``
(a rollback re-added a column at the end of its table) is lesser than ``schema`` (a missing
index, a changed type). ``accept`` names kinds that do not fail a migration: they are still
reported, as accepted differences.

Speed: the walk moves one database forward and never rebuilds anything, so each migration
costs its own SQL three times and three catalog snapshots (about 20-50 ms each). That is
cheaper than cloning a template database at each step, so none is cloned: the one database
is created from ``template0`` once and dropped at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbkit.compare import catalog
from dbkit.compare.catalog import Difference, Snapshot
from dbkit.compare.scratch import scratch_database
from dbkit.engine import database, interrupts, registry
from dbkit.engine.runner import Runner
from dbkit.engine.steps import steps_down, steps_up
from dbkit.errors import DbkitError, ExitCode, Interrupted, UsageError
from dbkit.plan.checks import CheckResult, describe_failures
from dbkit.plan.graph import Migration, load_plan
from dbkit.secrets import mask_url
from dbkit.settings import Settings
from dbkit.text import plural

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
    accepted: list[Difference] = field(default_factory=list)  # differences of accepted kinds
    verified: bool = True  # False: not verified (an earlier migration does not apply)

    @property
    def kinds(self) -> dict[str, int]:
        """How many differences of each kind (failing and accepted)."""
        counts: dict[str, int] = {}
        for d in [*self.differences, *self.accepted]:
            counts[d.difference_kind] = counts.get(d.difference_kind, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "name": self.name,
            "phase": self.phase,
            "ok": self.ok,
            "verified": self.verified,
            "stage": self.stage,
            "message": self.message,
            "differences": [d.to_dict() for d in self.differences],
            "accepted_differences": [d.to_dict() for d in self.accepted],
            "difference_kinds": self.kinds,
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
    keep_going: bool = False
    accept: tuple[str, ...] = ()

    @property
    def failures(self) -> list[MigrationVerdict]:
        """Every migration that failed (one at most without ``keep_going``)."""
        return [v for v in self.migrations if not v.ok and v.verified]

    @property
    def not_verified(self) -> list[MigrationVerdict]:
        return [v for v in self.migrations if not v.verified]

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
            accepted = sum(len(v.accepted) for v in self.migrations)
            return (
                f"verified {len(self.migrations)} migration"
                f"{'s' if len(self.migrations) != 1 else ''}: every rollback restores the "
                f"schema and the chain goes head -> base -> head cleanly "
                f"({self.duration_ms / 1000:.2f}s)"
                + (
                    f"; {accepted} difference{'s' if accepted != 1 else ''} of accepted kinds "
                    f"({', '.join(self.accept)})"
                    if accepted
                    else ""
                )
            )
        if self.keep_going and self.failures:
            names = ", ".join(v.name for v in self.failures)
            text = (
                f"{len(self.failures)} of {self.migrations_total} migrations failed "
                f"verification: {names}"
            )
            if self.not_verified:
                text += f"; {len(self.not_verified)} not verified after one that does not apply"
            return text
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
            "keep_going": self.keep_going,
            "accept": list(self.accept),
            "failures": [v.to_dict() for v in self.failures],
            "not_verified": [v.name for v in self.not_verified],
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
    keep_going: bool = False,
    accept: tuple[str, ...] | list[str] = (),
) -> VerifyResult:
    """Verify every migration of the project's plan in a throwaway database.

    ``server_url`` names the server to create it on (its database is only used to connect;
    the role needs CREATEDB); without it, the project's embedded server. ``settings.url``,
    the database ``migrate`` targets, is never used. Returns a :class:`VerifyResult`;
    raises DbkitError only when verification cannot run (broken plan, unreachable server,
    no right to create a database).
    """
    from dbkit.plan.checks import CheckBook

    t0 = time.perf_counter()
    accept = tuple(dict.fromkeys(accept))
    unknown = [k for k in accept if k not in catalog.DIFFERENCE_KINDS or k == "schema"]
    if unknown:
        raise UsageError(
            f"--accept {unknown[0]!r}: not a kind of difference that can be accepted",
            hint="accepted kinds: column-order",
        )
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
        keep_going=keep_going,
        accept=accept,
    )

    def scratch():
        return scratch_database(
            server_url,
            settings,
            prefix="dbkit_verify",
            purpose="dbkit verify",
            hint="use --url to point verify at a server where this role may CREATE DATABASE",
        )

    session = _Scratch(scratch, settings)
    try:
        session.open()
        result.scratch_database = session.name
        try:
            from dbkit.engine.extensions import refuse_missing

            refuse_missing(
                session.conn,
                list(plan),
                server=server,
                hint="point verify at a server that has them: `dbkit verify --url URL` (a "
                "role allowed to CREATE DATABASE there)",
            )
            _walk(session, plan.migrations, book, result, progress)
        finally:
            session.close()
    except (KeyboardInterrupt, Interrupted) as exc:
        raise interrupts.interrupted(
            exc,
            "dbkit verify",
            f"its throwaway database {session.name or '(not created yet)'} was dropped; no "
            "other database was changed",
        ) from None
    result.duration_ms = (time.perf_counter() - t0) * 1000
    return result


class _Scratch:
    """The throwaway database verify works in, with its connection and runner; ``open``
    again replaces it with a fresh one (the old one is dropped)."""

    def __init__(self, factory, settings: Settings) -> None:
        self.factory = factory
        self.settings = settings
        self._context = None
        self.conn = None
        self.runner: Runner | None = None
        self.name = ""

    def open(self) -> None:
        context = self.factory()
        scratch = context.__enter__()
        try:
            conn = database.connect(scratch.url, self.settings)
            # Thrown away at the end: waiting for each commit to reach disk buys nothing.
            database.throwaway(conn)
            registry.ensure_registry(conn)
        except BaseException:
            context.__exit__(*sys.exc_info())
            raise
        self.close()
        self._context, self.conn, self.name = context, conn, scratch.name
        self.runner = Runner(conn, self.settings)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(*sys.exc_info())


def _walk(session: _Scratch, migrations, book, result: VerifyResult, progress) -> None:
    empty = catalog.snapshot(session.conn)
    before = empty
    accept = result.accept
    migrations = list(migrations)
    for index, migration in enumerate(migrations):
        verdict, before = _verify_one(session.conn, session.runner, migration, book, before, accept)
        result.migrations.append(verdict)
        if progress is not None:
            progress(verdict)
        if verdict.ok:
            continue
        if not result.keep_going:
            return
        # The state after this migration, rebuilt forward only in a fresh database: the next
        # migration is verified from there, whatever this one's rollback left behind.
        session.open()
        try:
            session.runner.run(steps_up(migrations[: index + 1]))
        except Interrupted:
            raise
        except DbkitError as exc:
            for rest in migrations[index + 1 :]:
                skipped = MigrationVerdict(rest.revision, rest.name, rest.phase, ok=False)
                skipped.verified = False
                skipped.message = f"{rest.name}: not verified: {migration.name} does not apply"
                skipped.stage = "not verified"
                result.migrations.append(skipped)
                if progress is not None:
                    progress(skipped)
            verdict.message = f"{verdict.message} (rebuilding past it failed too: {exc})"
            return
        before = catalog.snapshot(session.conn)
    if migrations and not result.failures:
        result.chain = _verify_chain(
            session.conn, session.runner, migrations, empty, before, accept
        )


def _verify_one(
    conn: psycopg.Connection,
    runner: Runner,
    migration: Migration,
    book,
    before: Snapshot,
    accept: tuple[str, ...] = (),
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
        differences = _blocking(catalog.diff(before, back), accept, verdict)
        if differences:
            return fail(
                "rollback restores schema",
                f"its rollback does not restore the schema: {_count(differences)} from "
                "before the migration",
                differences,
            )
        stage = "up again"
        runner.run(steps_up([migration]))
        current = again = catalog.snapshot(conn)
        differences = _blocking(catalog.diff(after, again), accept, verdict)
        if differences:
            return fail(
                "reapply matches",
                f"applying it again after its rollback builds a different schema: "
                f"{_count(differences)} from its first run",
                differences,
            )
    except Interrupted:
        raise
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
    accept: tuple[str, ...] = (),
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
        differences = _blocking(catalog.diff(empty, catalog.snapshot(conn)), accept)
        if differences:
            return fail(
                "base matches",
                f"rolling the whole chain back from head to base does not return to the empty "
                f"database: {_count(differences)} differ",
                differences,
            )
        stage = "up to head"
        runner.run(steps_up(migrations))
        differences = _blocking(catalog.diff(head, catalog.snapshot(conn)), accept)
        if differences:
            return fail(
                "head matches",
                f"migrating base -> head again builds a different schema: {_count(differences)} "
                "from the first head",
                differences,
            )
    except Interrupted:
        raise
    except DbkitError as exc:
        return fail(stage, f"chain {stage} failed: {exc}")
    verdict.duration_ms = (time.perf_counter() - t0) * 1000
    return verdict


def _blocking(
    differences: list[Difference], accept: tuple[str, ...], verdict: MigrationVerdict | None = None
) -> list[Difference]:
    """All ``differences`` when one of them is of a kind not accepted (the verdict shows them
    all), else none (the accepted ones are kept on ``verdict``)."""
    if any(d.difference_kind not in accept for d in differences):
        return differences
    if verdict is not None:
        verdict.accepted.extend(differences)
    return []


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
    """``1 object differs`` / ``3 objects differ``: the subject with its verb, in agreement."""
    n = len(differences)
    return f"{plural(n, 'object')} {'differs' if n == 1 else 'differ'}"
