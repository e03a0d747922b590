"""The phased workflow around the runner: checks in their places, data preservation, the
performance guard, automatic rollback of a failed unit, and the lighter rollback levels.

Order when migrating a phase from its start:

1. phase pre-checks (``validations/phases/<phase>.pre.sql``); row counts of the tables the
   phase's row-removing files reach (the catalog's estimate elsewhere) and the per-key-range
   digests of preserved tables are taken and stored; key queries are measured;
2. each migration: its pre-checks, its SQL, its post-checks, the row counts compared with the
   phase's snapshot (no data loss), its history row, all in one transaction, so a failure
   rolls the migration back and the rows come back with it;
3. phase post-checks and the key queries again (the performance guard).

A failure in step 3 rolls the phase's migrations of this run back with their paired
rollbacks (unless ``auto_rollback`` is off) and raises ValidationFailed. Rolling back checks
the state it returns to: the post-checks of the migration that becomes current, and, when a
whole phase was rolled back, the post-checks of the phase before it and the stored row
counts of the phase.
"""

from __future__ import annotations

from contextlib import suppress
from itertools import groupby
from typing import TYPE_CHECKING

from dbkit.engine import guard, interrupts, preserve
from dbkit.engine.failures import validation_failed
from dbkit.engine.runner import Runner
from dbkit.engine.steps import NO_CHECKS, Reporter, Step, StepChecks, StepResult, Watch, steps_down
from dbkit.errors import Interrupted, ValidationFailed
from dbkit.plan.checks import CheckBook, CheckResult, describe_failures
from dbkit.plan.graph import Migration, Plan
from dbkit.text import does_not_exist, plural

if TYPE_CHECKING:
    import psycopg

    from dbkit.settings import Settings


class Workflow:
    """Runs migrate and rollback steps with every check in its place.

    Calls go one way: the workflow decides what a phase needs (snapshots, phase checks, key
    queries) and which checks belong to each step, then hands each step with its
    :class:`StepChecks` to the runner, which executes it and returns its result.
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        settings: Settings,
        plan: Plan,
        book: CheckBook,
        reporter: Reporter | None = None,
        *,
        dry_run: bool = False,
        validate: bool = True,
        auto_rollback: bool = True,
        perf_threshold: float = 0.2,
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.plan = plan
        self.book = book
        self.reporter = reporter or Reporter()
        self.validate = validate
        self.auto_rollback = auto_rollback
        self.perf_threshold = perf_threshold
        self.dry_run = dry_run
        self.unknown: list[str] = []  # dry run: phase checks it could not judge
        self.runner = Runner(
            conn,
            settings,
            self.reporter,
            dry_run=dry_run,
            auto_rollback=auto_rollback,
            split=book.statements,
        )
        self.guard_results: list[guard.GuardResult] = []
        self._at: str | None = None  # the revision the database is at, for an interrupt
        self._doing = "the run"

    @property
    def check_results(self) -> list[CheckResult]:
        return self.runner.check_results

    # -- the checks of one step ---------------------------------------------------------------

    def _step_checks(self, step: Step, snapshot: preserve.Snapshot | None) -> StepChecks:
        """The checks around ``step``: its pre- and post-checks (after a rollback step, the
        post-checks of the migration that becomes current) and the data-preservation watch."""
        if not self.validate:
            return NO_CHECKS
        if step.direction == "down":
            if step.to_revision is None:
                return NO_CHECKS
            current = self.plan.get(step.to_revision)
            return StepChecks(post=self.book.file(current.post_check_path).checks)
        migration = step.migration
        return StepChecks(
            pre=self.book.file(migration.pre_check_path).checks,
            post=self.book.file(migration.post_check_path).checks,
            watch=self._watch(step, snapshot),
        )

    def _watch(self, step: Step, snapshot: preserve.Snapshot | None) -> Watch | None:
        """The data-preservation query for an up step, or None if it is not needed."""
        if snapshot is None:
            return None
        query = preserve.watch_query(snapshot)
        if query is None:
            return None  # no table held rows before the phase
        migration = step.migration
        if migration.transactional and not self.book.could_remove_rows(migration.up_sql):
            return None
        return Watch(
            snapshot=snapshot,
            query=query,
            when=f"data preservation of phase {snapshot.phase} after {migration.name}",
            in_transaction=migration.transactional,
        )

    # -- migrate -----------------------------------------------------------------------------

    def migrate(self, steps: list[Step], results: list[StepResult]) -> None:
        self._at = steps[0].from_revision if steps else None
        try:
            self._migrate(steps, results)
        except KeyboardInterrupt as exc:
            raise self._interrupted(exc) from None
        finally:
            self.book.save()

    def _interrupted(self, exc: KeyboardInterrupt) -> Interrupted:
        """A signal outside a migration's own run (phase checks, the snapshot, the
        performance guard): nothing is half-done, say where the database is."""
        with suppress(Exception):
            if self.conn.info.transaction_status != 0 and not self.dry_run:  # not IDLE
                self.conn.execute("ROLLBACK")
        return interrupts.interrupted(
            exc, self._doing, f"the database is at {self._at or 'base'}, nothing is half-done"
        )

    def _migrate(self, steps: list[Step], results: list[StepResult]) -> None:
        for phase, grouped in groupby(steps, key=lambda s: s.migration.phase):
            group = list(grouped)
            first, last = self.plan.phase_span(phase)
            starts = self.plan.position(group[0].migration.revision) == first
            ends = self.plan.position(group[-1].migration.revision) == last
            baseline = {}
            snapshot = None
            if self.validate:
                if starts:
                    self._doing = f"the pre-checks and row-count snapshot of phase {phase}"
                    snapshot, baseline = self._before_phase(phase, group[0].from_revision)
                else:
                    snapshot = preserve.load(self.conn, phase)
            done_before = len(results)
            for step in group:
                if snapshot is not None and step.migration.removes_data:
                    # declared on purpose: these tables may lose rows from here on
                    snapshot = preserve.without(snapshot, step.migration.removes_data)
                self._doing = f"the checks around {step.migration.name}"
                self.runner.run_step(step, results, self._step_checks(step, snapshot))
                self._at = step.to_revision
            if ends and self.validate:
                self._doing = f"the post-checks and performance guard of phase {phase}"
                failures = self._after_phase(phase, baseline)
                if failures and self.dry_run and self.runner.skipped:
                    self.reporter.note(
                        f"a dry run cannot know whether the checks after phase {phase} pass: "
                        f"it skipped {', '.join(self.runner.skipped)} (outside a transaction); "
                        f"simulated without it: {describe_failures(failures, with_when=True)}"
                    )
                    self.unknown.append(f"phase {phase} checks")
                elif failures:
                    applied = [r.revision for r in results[done_before:]]
                    self._fail_phase(phase, failures, applied, results)

    def _before_phase(self, phase: str, revision_before: str | None):
        pre = self.book.phase_file(phase, "pre")
        failed = self.runner.run_checks(list(pre.checks), f"pre-check of phase {phase}")
        if failed:
            raise validation_failed(failed, f"nothing of phase {phase} was applied")
        first, last = self.plan.phase_span(phase)
        # the tables the phase's SQL can write (up, down and level rollbacks, and the code
        # they run) are counted, and digested when preserved; the analysis is cached by content
        texts = [text for m in self.plan.migrations[first : last + 1] for text in m.every_sql]
        analyse = preserve.Analyse(self.book.writes, self.book.body_writes)
        snapshot = preserve.take(self.conn, phase, pre.preserve, texts, analyse)
        with self.conn.transaction():
            snapshot = preserve.store(self.conn, snapshot, revision_before)
        baseline = {}
        for check in self.book.phase_file(phase, "perf").checks:
            missing = guard.missing_relations(self.conn, check)
            if missing:
                self.reporter.note(
                    f"key query {check.name} not timed for phase {phase}: {does_not_exist(missing)}"
                )
                continue
            baseline[check.name] = (check, self._measure(check))
        return snapshot, baseline

    def _measure(self, check) -> guard.Measurement:
        """Time a key query under the check_timeout budget; running past it fails the phase."""
        import psycopg

        from dbkit.engine.database import one_line, statement_budget

        budget = self.settings.check_timeout
        try:
            with statement_budget(self.conn, budget):
                return guard.measure(self.conn, check)
        except psycopg.errors.QueryCanceled as exc:
            raise ValidationFailed(
                f"key query {check.name} ({check.location(self.plan.project_dir)}) ran past "
                f"check_timeout ({budget}): {one_line(str(exc))}",
                hint="make the key query cheaper, or raise check_timeout in [tool.dbkit]",
            ) from None

    def _after_phase(self, phase, baseline) -> list[CheckResult]:
        post = self.book.phase_file(phase, "post")
        failures = self.runner.run_checks(list(post.checks), f"post-check of phase {phase}")
        for name, (check, before) in baseline.items():
            result = guard.GuardResult(
                name=name,
                location=check.location(self.plan.project_dir),
                phase=phase,
                before=before,
                after=self._measure(check),
                threshold=self.perf_threshold,
            )
            self.guard_results.append(result)
            self.reporter.guard_finished(result)
            if result.tripped:
                failures.append(
                    CheckResult(
                        name=f"performance_{name}",
                        location=result.location,
                        rows_found=1,
                        sample=[{"slowdown": result.describe()}],
                        when=f"performance guard of phase {phase}",
                    )
                )
        return failures

    def _fail_phase(self, phase, failures, applied, results) -> None:
        if not self.auto_rollback:
            failed = validation_failed(
                failures,
                f"phase {phase} was LEFT APPLIED for inspection (--no-auto-rollback); undo it "
                f"with `dbkit rollback --phase {phase}`",
            )
            self._record_left_phase(phase, applied, failed.message)
            raise failed
        undo = steps_down([self.plan.get(r) for r in applied])
        quiet = Runner(self.conn, self.runner.settings, self.reporter, dry_run=self.dry_run)
        try:
            quiet.run(undo, results)
        except Interrupted:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the validation failure
            raise validation_failed(
                failures,
                f"rolling back phase {phase} failed too: {exc}; the database is inside phase "
                f"{phase}",
            ) from None
        raise validation_failed(
            failures,
            f"phase {phase} was rolled back ({plural(len(undo), 'migration')}, paired rollbacks)",
        )

    def _record_left_phase(self, phase: str, applied: list[str], failure: str) -> None:
        """One row for the run, on the last migration it applied, naming every migration the
        failed phase left applied (their own rows committed before the phase's checks ran), so
        ``status`` and ``info`` name them until they are rolled back, run again or accepted
        (``dbkit repair``)."""
        if self.dry_run or not applied or self.conn.broken:
            return
        import psycopg

        from dbkit.engine import registry

        # The failure is what the user must see; a lost marker row must not hide it.
        with suppress(psycopg.Error):
            registry.record(
                self.conn,
                self.plan.get(applied[-1]),
                direction="up",
                message=registry.phase_left_message(phase, applied, failure),
            )

    # -- rollback ---------------------------------------------------------------------------

    def rollback(self, steps: list[Step], results: list[StepResult]) -> None:
        self._at = steps[0].from_revision if steps else None
        try:
            for phase, grouped in groupby(steps, key=lambda s: s.migration.phase):
                group = list(grouped)
                for step in group:
                    self._doing = f"the checks around rolling back {step.migration.name}"
                    self.runner.run_step(step, results, self._step_checks(step, None))
                    self._at = step.to_revision
                first, _ = self.plan.phase_span(phase)
                if self.validate and self.plan.position(group[-1].migration.revision) == first:
                    self._doing = f"the checks after rolling back phase {phase}"
                    self._after_phase_rollback(phase, group[-1].to_revision)
        except KeyboardInterrupt as exc:
            raise self._interrupted(exc) from None

    def _after_phase_rollback(self, phase: str, now_at: str | None) -> None:
        failures: list[CheckResult] = []
        if now_at is not None:
            previous = self.plan.get(now_at).phase
            if self.plan.phase_span(previous)[1] == self.plan.position(now_at):
                post = self.book.phase_file(previous, "post")
                failures += self.runner.run_checks(
                    list(post.checks), f"post-check of phase {previous} after rolling back {phase}"
                )
        snapshot = preserve.load(self.conn, phase)
        if snapshot is not None:
            # data a migration of the phase removed on purpose cannot come back with a rollback
            declared = tuple(t for m in self.plan if m.phase == phase for t in m.removes_data)
            snapshot = preserve.without(snapshot, declared)
            losses = preserve.compare(
                self.conn, snapshot, when=f"data preservation after rolling back {phase}"
            )
            for loss in losses:
                self.runner.check_results.append(loss)
                self.reporter.check_finished(loss)
            failures += losses
        if failures:
            raise validation_failed(
                failures, f"phase {phase} stays rolled back; inspect the rows above"
            )

    # -- lighter rollback levels ----------------------------------------------------------------

    def rollback_level(
        self, migrations: list[Migration], level: str, results: list[StepResult]
    ) -> None:
        """Run the ``.data.sql`` or ``.feature.sql`` files of ``migrations``, newest first.

        The schema stays as it is (alembic_version does not move). Everything runs in one
        transaction with the data-preservation check, so a level rollback that would remove
        rows which existed before the phase changes nothing.
        """
        with self.conn.transaction():
            for migration in reversed(migrations):
                path = migration.level_path(level)
                if not path.is_file():
                    result = StepResult(
                        revision=migration.revision,
                        name=migration.name,
                        phase=migration.phase,
                        direction="down",
                        outcome="skipped",
                        transactional=migration.transactional,
                        notes=[
                            f"no {level}-level rollback: {migration.relpath(path)} does not exist"
                        ],
                    )
                else:
                    self.reporter.step_started(migration, "down")
                    result = self.runner.run_level_file(migration, level)
                results.append(result)
                self.reporter.step_finished(result)
            if self.validate:
                self._check_level_rollback(migrations, level)

    def _check_level_rollback(self, migrations: list[Migration], level: str) -> None:
        """Compare with the snapshot of the earliest phase the level rollback starts:
        later phases' snapshots already count the data it is meant to remove."""
        starts = [
            m
            for m in migrations
            if self.plan.phase_span(m.phase)[0] == self.plan.position(m.revision)
        ]
        if not starts:
            return
        phase = min(starts, key=lambda m: self.plan.position(m.revision)).phase
        snapshot = preserve.load(self.conn, phase)
        if snapshot is None:
            return
        losses = preserve.compare(
            self.conn, snapshot, when=f"data preservation of {phase} after {level} rollback"
        )
        for loss in losses:
            self.runner.check_results.append(loss)
            self.reporter.check_finished(loss)
        if losses:
            raise validation_failed(
                losses,
                f"the {level}-level rollback would remove rows that existed before phase "
                f"{phase}, so nothing of it was done",
            )


__all__ = ["CheckBook", "Workflow", "ValidationFailed"]
