"""Executing migrations against a live connection: one transaction per migration.

A transactional migration runs its statements, the ``alembic_version`` move and its history row
in one transaction, so it is applied whole or not at all. A migration declared
``transactional = False`` runs statement by statement in autocommit; if one fails, dbkit runs
the migration's paired file (both must be idempotent) to return to the previous revision and
reports what had run, so nothing is left half-applied without saying so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dbkit.engine import interrupts, preserve, registry
from dbkit.engine.database import lock_blockers, one_line
from dbkit.engine.failures import LOCK_NOT_AVAILABLE, migration_failed, validation_failed
from dbkit.engine.steps import NO_CHECKS, Reporter, Step, StepChecks, StepResult, Watch
from dbkit.errors import (
    ConnectionFailed,
    DatabaseStateError,
    DbkitError,
    Interrupted,
    MigrationFailed,
    ValidationFailed,
)
from dbkit.plan import sqltext
from dbkit.plan.checks import SAMPLE_ROWS, CheckResult
from dbkit.plan.preamble import preamble_sql, reset_sql
from dbkit.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    import psycopg

    from dbkit.plan.checks import Check
    from dbkit.plan.graph import Migration


class _PipelineExitNoise(logging.Filter):
    """psycopg warns "error ignored terminating <psycopg.Pipeline ...>" when a pipeline block
    ends with an error it then cannot sync; the error itself is what dbkit reports."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.msg == "error ignored terminating %r: %s"
            and type(record.args[0]).__name__ == "Pipeline"  # type: ignore[index]
        )


logging.getLogger("psycopg").addFilter(_PipelineExitNoise())


class Runner:
    """Runs steps on one connection that already holds the migration lock.

    The runner executes and returns: the caller (the workflow) says which checks belong to a
    step (:class:`StepChecks`), the runner runs them in their places inside the step's
    transaction and returns a :class:`StepResult` or raises. It never calls back up.
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        settings: Settings,
        reporter: Reporter | None = None,
        *,
        dry_run: bool = False,
        auto_rollback: bool = True,
        split: Callable[[str], list[sqltext.Statement]] = sqltext.split,
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.reporter = reporter or Reporter()
        self.dry_run = dry_run
        self.auto_rollback = auto_rollback
        # how a non-transactional migration's file becomes statements: the workflow passes
        # its check book's, which keeps each file's statements by content (no parser needed)
        self.split = split
        self.check_results: list[CheckResult] = []
        # dry run: the non-transactional migrations it skipped (it cannot show their effect,
        # so a later failure may be an artefact of the skip, not a real one)
        self.skipped: list[str] = []

    def run(self, steps: list[Step], results: list[StepResult] | None = None) -> list[StepResult]:
        """Run the steps in order without checks; ``results`` (appended to) also reaches a
        raised error."""
        results = [] if results is None else results
        for step in steps:
            self.run_step(step, results)
        return results

    def run_step(
        self, step: Step, results: list[StepResult], checks: StepChecks = NO_CHECKS
    ) -> StepResult:
        """Run one step with its checks; append its result to ``results`` and return it.

        A raised error carries ``results`` (what did finish) for ``--json`` and the summary.
        """
        self.reporter.step_started(step.migration, step.direction)
        try:
            if step.migration.transactional:
                result = self._run_in_transaction(step, checks)
            else:
                result = self._run_outside_transaction(step, checks)
        except (MigrationFailed, ValidationFailed) as exc:
            if not (self.dry_run and self.skipped) or self._aborted():
                exc.completed = results
                raise
            result = self._unknown(step, exc)
        except DbkitError as exc:
            exc.completed = results
            raise
        results.append(result)
        self.reporter.step_finished(result)
        return result

    def _aborted(self) -> bool:
        import psycopg

        status = self.conn.info.transaction_status
        return self.conn.broken or status == psycopg.pq.TransactionStatus.INERROR

    def _unknown(self, step: Step, exc: DbkitError) -> StepResult:
        """A dry-run failure after a skipped non-transactional migration: what the dry run
        cannot know, not a failure. The simulated version still moves, for the steps after."""
        self._record(step, datetime.now(UTC), 0.0)
        return self._result(
            step,
            0.0,
            [
                f"a dry run cannot know: it follows {', '.join(self.skipped)}, which a dry run "
                f"skips (it runs outside a transaction); simulated without it, it failed: "
                f"{exc.message}"
            ],
            outcome="unknown",
        )

    def run_checks(self, checks: list[Check], when: str, opening: str = "") -> list[CheckResult]:
        """Run checks, report each, and return the failed ones.

        A check that cannot run at all (a typo, a missing table) is a failed check too.
        ``opening`` (the migration's BEGIN and limits) travels in front of the first check.
        """
        import psycopg

        failed = []
        project_dir = self.settings.project_dir
        budget = self.settings.check_timeout
        for check in checks:
            try:
                result = run_check(
                    self.conn,
                    check,
                    project_dir=project_dir,
                    when=when,
                    budget=budget,
                    opening=opening,
                )
                opening = ""
            except psycopg.Error as exc:
                error = one_line(getattr(exc.diag, "message_primary", None) or str(exc))
                sqlstate = getattr(exc, "sqlstate", None) or ""
                if self.conn.broken or sqlstate.startswith("08") or sqlstate in _GONE:
                    # Not a check that found rows: the server went away (exit 1, not 3).
                    raise ConnectionFailed(
                        f"lost the connection to the database during {when}, check "
                        f"{check.name} ({check.location(project_dir)}): {error}",
                        hint="`dbkit status` shows what was applied; run the command again",
                    ) from None
                if sqlstate == "57014":
                    error = f"it ran past check_timeout ({budget}): {error}"
                raise ValidationFailed(
                    f"{when}: check {check.name} ({check.location(project_dir)}) could not run: "
                    f"{error}",
                ) from None
            self.check_results.append(result)
            self.reporter.check_finished(result)
            if not result.passed:
                failed.append(result)
        return failed

    def _post_failures(self, step: Step, checks: StepChecks) -> list[CheckResult]:
        failed = self.run_checks(list(checks.post), self._when(step, "post"))
        if checks.watch is not None:
            failed += self._judge(checks.watch, self.conn.execute(*checks.watch.query).fetchall())
        return failed

    def _judge(self, watch: Watch, rows: list[tuple]) -> list[CheckResult]:
        """Failed data-preservation checks for the rows of the watch query, reported."""
        losses = preserve.judge(
            self.conn,
            watch.snapshot,
            rows,
            when=watch.when,
            in_transaction=watch.in_transaction,
        )
        for loss in losses:
            self.check_results.append(loss)
            self.reporter.check_finished(loss)
        return losses

    def _when(self, step: Step, moment: str) -> str:
        if step.direction == "up":
            return f"{moment}-check of {step.migration.name}"
        return f"check of {step.to_revision or 'base'} after rolling back {step.migration.name}"

    # -- transactional -----------------------------------------------------------------

    def _run_in_transaction(self, step: Step, checks: StepChecks) -> StepResult:
        """Run the migration in as few round trips as possible, inside one transaction.

        Without pre-checks, BEGIN and the timeouts travel in front of the file, which goes to
        the server whole: one round trip, where psql needs one per statement. Without
        post-checks or a data-preservation query, the history row travels with COMMIT. The
        server reports a syntax error with its position in the file; for an error without
        one, the file is replayed statement by statement in a transaction that is rolled
        back, to name the failing statement's line.
        """
        import psycopg

        migration = step.migration
        sql = migration.sql(step.direction)
        attempt = 0
        retries: list[str] = []  # shown as progress and kept in the result, not in errors
        first_t0 = time.perf_counter()
        by_statement = False  # after a lock_timeout: to name the statement that waits
        current: sqltext.Statement | None = None
        one_trip = False
        while True:
            started_at = datetime.now(UTC)
            t0 = time.perf_counter()
            tx = _Transaction(self.conn, *self._timeouts(migration))
            ran_sql = False
            current = None
            try:
                pre = list(checks.pre)
                prefix = ""
                if pre and not tx.nested and not by_statement:
                    # BEGIN and the limits travel in front of the first pre-check
                    tx.open = True
                    failed = self.run_checks(pre, self._when(step, "pre"), opening=tx.begin_sql)
                    if failed:
                        raise validation_failed(failed, f"{migration.name} was not applied")
                elif pre or tx.nested or by_statement:
                    tx.begin()
                    failed = self.run_checks(pre, self._when(step, "pre"))
                    if failed:
                        raise validation_failed(failed, f"{migration.name} was not applied")
                else:
                    prefix = tx.begin_sql
                # Nothing to judge after the file (no post-check, no data-preservation query):
                # the history row and COMMIT travel behind the file, in the same query.
                whole = not tx.nested and not by_statement and not checks.post
                one_trip = whole and checks.watch is None
                # Only the data-preservation query to judge: it travels behind the file too.
                watch_behind = whole and checks.watch is not None
                watched_rows = None
                ran_sql = True
                # The session is made clean again right after the file, inside its
                # transaction: the checks and the bookkeeping run as dbkit's own role with its
                # search_path and limits, whatever the file SET (same round trip).
                clean = "\n;" + CLEAN_SESSION + "; " + tx.limits_sql
                if by_statement:
                    for current in sqltext.split(sql):
                        self.conn.execute(current.text)
                    current = None
                    self.conn.execute(clean)
                elif one_trip:
                    self.conn.execute(
                        prefix + sql + clean + self._record_and_commit(step, started_at)
                    )
                    total = (time.perf_counter() - first_t0) * 1000
                    return self._result(step, total, retries)
                elif watch_behind:
                    behind = ";\n" + self._inline(checks.watch)
                    watched_rows = self._last_rows(self.conn.execute(prefix + sql + clean + behind))
                else:
                    self.conn.execute(prefix + sql + clean)
                tx.open = True
                ran_sql = False
                failed = self._finish(step, checks, tx, started_at, t0, watched_rows)
                if failed:
                    raise _recorded(validation_failed(failed, self._left_for_inspection(step)))
                total = (time.perf_counter() - first_t0) * 1000
                if retries:
                    retries.append(self._waited_note(total, t0, first_t0))
                return self._result(step, total, retries)
            except ValidationFailed as exc:
                tx.rollback()
                if not getattr(exc, "recorded", False):
                    self._record_failure(step, started_at, (time.perf_counter() - t0) * 1000, exc)
                raise
            except KeyboardInterrupt as exc:
                # psycopg has cancelled the statement on the server; undo the transaction.
                state = "its transaction was rolled back, nothing of it was applied"
                if self.conn.closed or self.conn.broken:
                    state = "the connection was lost; the server rolls its transaction back"
                elif one_trip and self._committed(step):
                    # the signal came as the server ran COMMIT, sent with the file: it stands
                    raise interrupts.interrupted(
                        exc,
                        f"{migration.name} ({'up' if step.direction == 'up' else 'rollback'})",
                        "it was committed before the signal arrived; the database is at "
                        f"{step.to_revision or 'base'}",
                    ) from None
                with suppress(Exception):
                    tx.rollback()
                raise self._interrupted(step, exc, started_at, t0, state) from None
            except psycopg.Error as exc:
                tx.rollback()
                duration = (time.perf_counter() - t0) * 1000
                if registry.version_guard_tripped(exc):
                    raise self._moved_elsewhere(step) from None
                if ran_sql and self._should_retry(step, current, exc, attempt, retries):
                    attempt += 1
                    by_statement = True
                    continue
                statement, error, offset = current, exc, 0
                if ran_sql and current is None:
                    statement, error, offset = self._locate(step, exc, len(prefix))
                failure = self._failure(step, statement, error, notes=[], offset=offset)
                self._record_failure(step, started_at, duration, failure)
                raise failure from None

    def _finish(
        self,
        step: Step,
        checks: StepChecks,
        tx: _Transaction,
        started_at: datetime,
        t0: float,
        watched_rows: list[tuple] | None = None,
    ):
        """Post-checks, the data-preservation query, the bookkeeping and the commit.

        ``watched_rows``: the data-preservation query's rows when they came back with the file
        (judged first; the bookkeeping then travels with COMMIT). Returns the failed checks
        when they are to be left applied (no auto-rollback); raises ValidationFailed when they
        are undone.
        """
        failed = self.run_checks(list(checks.post), self._when(step, "post"))
        watch = checks.watch
        if watch is not None and watched_rows is not None:
            failed += self._judge(watch, watched_rows)
            watch = None
            if failed and self.auto_rollback:
                raise validation_failed(failed, f"{step.migration.name} was {self._undone(step)}")
        elif watch is not None and not self.auto_rollback:
            # Left applied on a failure: know every failure before writing the run's one row.
            failed += self._judge(watch, self.conn.execute(*watch.query).fetchall())
            watch = None
        duration = (time.perf_counter() - t0) * 1000
        message = None
        if failed and not self.auto_rollback:
            message = self._left_message(failed, step)
        with self.conn.pipeline():
            watched = self.conn.execute(*watch.query) if watch is not None else None
            self._move_and_record(step, started_at, duration, message)
            if watch is None and not failed:
                tx.commit()  # queued in the pipeline with the bookkeeping
        if tx.open:
            if watched is not None:
                failed += self._judge(watch, watched.fetchall())
            if failed and self.auto_rollback:
                raise validation_failed(failed, f"{step.migration.name} was {self._undone(step)}")
            tx.commit()
        return failed

    def _inline(self, watch: Watch) -> str:
        """The data-preservation query with its values inlined, to send behind the file."""
        from psycopg import ClientCursor

        return ClientCursor(self.conn).mogrify(*watch.query)

    @staticmethod
    def _last_rows(cursor) -> list[tuple]:
        """The rows of the last statement of a multi-statement query."""
        while cursor.nextset():
            pass
        return cursor.fetchall()

    def _record_and_commit(self, step: Step, started_at: datetime) -> str:
        """The bookkeeping and COMMIT as text to send behind the file (one round trip)."""
        row = registry.move_and_record_text(
            self.conn,
            step.migration,
            from_revision=step.from_revision,
            to_revision=step.to_revision,
            direction=step.direction,
            started_at=started_at,
        )
        return f";\n{row};\nCOMMIT"

    def _committed(self, step: Step) -> bool:
        """After an interrupt of a one-round-trip run: did its COMMIT go through?"""
        import psycopg

        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return False
        with suppress(psycopg.Error):
            return registry.read_state(self.conn).current == step.to_revision
        return False

    def _locate(
        self, step: Step, exc: Exception, offset: int
    ) -> tuple[sqltext.Statement | None, Exception, int]:
        """The statement (and its error) that made a whole-file run fail.

        ``offset`` is the length of what was sent in front of the file; the returned offset is
        what to subtract from the error's position to count from the statement's start.
        """
        import psycopg

        sql = step.migration.sql(step.direction)
        whole = sqltext.Statement(text=sql, line=1, offset=0)
        position = getattr(exc.diag, "statement_position", None)
        if position and int(position) > offset:
            return whole, exc, offset  # the position counts from the start of what was sent
        statements = sqltext.split(sql)
        if len(statements) == 1:
            return statements[0], exc, 0
        found: tuple[sqltext.Statement | None, Exception, int] = (None, exc, 0)
        try:
            with self.conn.transaction():
                self._set_timeouts(step.migration, local=True)
                for statement in statements:
                    try:
                        self.conn.execute(statement.text)
                    except psycopg.Error as again:
                        if again.sqlstate == getattr(exc, "sqlstate", None):
                            found = (statement, again, 0)
                        break
                raise psycopg.Rollback()  # always undone, the failed replay included
        except psycopg.Error:
            pass
        return found

    def run_level_file(self, migration: Migration, level: str) -> StepResult:
        """Run a ``.data.sql``/``.feature.sql`` rollback inside the caller's transaction."""
        import psycopg

        path = migration.level_path(level)
        text = path.read_text(encoding="utf-8")
        statements = sqltext.split(text)
        started_at = datetime.now(UTC)
        t0 = time.perf_counter()
        current = None
        try:
            with self.conn.transaction():
                self._set_timeouts(migration, local=True)
                for statement in statements:
                    current = statement
                    self.conn.execute(statement.text)
                duration = (time.perf_counter() - t0) * 1000
                registry.record(
                    self.conn,
                    migration,
                    direction="down",
                    level=level,
                    started_at=started_at,
                    duration_ms=duration,
                    message=f"{level}-level rollback with {migration.relpath(path)}",
                )
        except psycopg.Error as exc:
            location = migration.relpath(path)
            if current is not None:
                position = exc.diag.statement_position
                location += f":{current.line_at(int(position) if position else None)}"
            raise MigrationFailed(
                f"{level}-level rollback of {migration.name} failed at {location}: "
                f"{one_line(exc.diag.message_primary or str(exc))}; nothing of it was done",
                revision=migration.revision,
                location=location,
                sqlstate=exc.sqlstate,
            ) from None
        outcome = "data removed" if level == "data" else "feature switched off"
        return StepResult(
            revision=migration.revision,
            name=migration.name,
            phase=migration.phase,
            direction="down",
            outcome=outcome,
            duration_ms=duration,
            transactional=True,
        )

    # -- outside a transaction ----------------------------------------------------------

    def _run_outside_transaction(self, step: Step, checks: StepChecks) -> StepResult:
        import psycopg

        migration = step.migration
        statements = self.split(migration.sql(step.direction))
        if self.dry_run:
            # Keep the simulated version moving so the steps after this one still line up.
            self._record(step, datetime.now(UTC), 0.0)
            self.skipped.append(migration.name)
            return self._result(
                step,
                0.0,
                [
                    "not run: this migration runs outside a transaction "
                    f"({statements[0].summary if statements else 'no statements'}), "
                    "so a dry run cannot show its effect"
                ],
                outcome="skipped",
            )
        started_at = datetime.now(UTC)
        t0 = time.perf_counter()
        notes: list[str] = []
        retries: list[str] = []
        done: list[sqltext.Statement] = []
        failed_checks = self.run_checks(list(checks.pre), self._when(step, "pre"))
        if failed_checks:
            raise validation_failed(failed_checks, f"{migration.name} was not applied")
        # Recorded before the first statement: a crash, a kill or a server restart in the middle
        # leaves this row, and `dbkit status` says how far it got.
        registry.start_run(self.conn, migration, step.direction, len(statements))
        keep_record = False  # True when the database is left between revisions
        waited = 0.0  # seconds spent in attempts that hit lock_timeout, and the pauses after
        self._set_timeouts(migration, local=False)
        try:
            for statement in statements:
                attempt = 0
                while True:
                    attempt_t0 = time.perf_counter()
                    # Before every attempt, not only the first: a build that hit lock_timeout
                    # leaves an INVALID index that `IF NOT EXISTS` would then skip.
                    reason = "left by an earlier failed build" if not attempt else "before retrying"
                    try:
                        # (dropping waits for the same transactions the build waited for)
                        self._drop_invalid_index(statement, notes, reason=reason)
                        self.conn.execute(statement.text)
                        break
                    except psycopg.Error as exc:
                        if self._should_retry(step, statement, exc, attempt, retries):
                            attempt += 1
                            waited += time.perf_counter() - attempt_t0
                            continue
                        raise
                done.append(statement)
                registry.progress(self.conn, migration, step.direction, len(done))
            for statement in statements:
                self._confirm_index_valid(statement)
            duration = (time.perf_counter() - t0) * 1000
            self._clean_session(migration)
            failed_checks = self._post_failures(step, checks)
            if failed_checks and self.auto_rollback:
                if self._undo(step, notes):
                    raise validation_failed(failed_checks, f"{migration.name} was undone")
                keep_record = True
                raise validation_failed(
                    failed_checks,
                    f"undoing {migration.name} failed: the database is between revisions",
                    notes,
                )
            message = self._left_message(failed_checks, step) if failed_checks else None
            with self.conn.transaction():
                self._record(step, started_at, duration, message)
                registry.finish_run(self.conn, migration.revision, step.direction)
            if failed_checks:
                raise _recorded(validation_failed(failed_checks, self._left_for_inspection(step)))
        except ValidationFailed as exc:
            if not getattr(exc, "recorded", False):
                self._record_failure(step, started_at, (time.perf_counter() - t0) * 1000, exc)
            if not keep_record:
                self._finish_run(step)
            raise
        except KeyboardInterrupt as exc:
            raise self._interrupted_outside(step, exc, statements, done, started_at, t0) from None
        except psycopg.Error as exc:
            duration = (time.perf_counter() - t0) * 1000
            failed = statements[len(done)] if len(done) < len(statements) else None
            with suppress(psycopg.Error):
                self._clean_session(migration)
            if failed is not None:
                try:
                    self._drop_invalid_index(failed, notes, reason="left by this failed build")
                except psycopg.Error as again:
                    state = self._index_state(failed) if not self.conn.broken else None
                    notes.append(
                        f"could not drop the invalid index {state[0] if state else ''} it left: "
                        f"{one_line(again.diag.message_primary or str(again))}; the next run "
                        "drops it first"
                    )
            undone = self._undo(step, notes) if done else True
            failure = self._failure(
                step, failed, exc, notes=notes, done=done, statements=statements, undone=undone
            )
            self._record_failure(step, started_at, duration, failure)
            if undone:
                self._finish_run(step)
            raise failure from None
        finally:
            self._reset_timeouts()
        if retries:
            retries.append(
                f"took {duration / 1000:.1f}s in all, {waited:.1f}s of it waiting for locks "
                "(failed attempts and the pauses between them)"
            )
        return self._result(step, duration, retries + notes)

    def _interrupted_outside(self, step, exc, statements, done, started_at, t0) -> DbkitError:
        """A signal stopped a non-transactional migration: drop the invalid index the
        cancelled build left, undo the statements that ran, record it, say where it is."""
        notes: list[str] = []
        if self.conn.closed or self.conn.broken:
            state = (
                f"the connection was lost after {len(done)} of {len(statements)} statements; "
                f"run `dbkit migrate` or `dbkit rollback` to finish or undo it"
            )
            return self._interrupted(step, exc, started_at, t0, state)
        failed = statements[len(done)] if len(done) < len(statements) else None
        if failed is not None:
            self._drop_invalid_index(failed, notes, reason="left by the interrupted build")
        if not done:
            state = (
                "its statement did not complete"
                if len(statements) == 1
                else f"none of its {len(statements)} statements had completed"
            )
            self._finish_run(step)
        elif self._undo(step, notes):
            state = f"the {len(done)} statements that had run were undone with its paired file"
            self._finish_run(step)
        else:
            state = "undoing it failed: the database is between revisions"
        if notes:
            state += f" ({'; '.join(notes)})"
        return self._interrupted(step, exc, started_at, t0, state)

    def _interrupted(self, step, exc, started_at, t0, state: str) -> DbkitError:
        """Record the interrupted run of ``step`` and the error saying where the database is."""
        at = step.from_revision or "base"
        error = interrupts.interrupted(
            exc,
            f"{step.migration.name} ({'up' if step.direction == 'up' else 'rollback'})",
            f"{state}; the database is at {at}",
        )
        self._record_failure(step, started_at, (time.perf_counter() - t0) * 1000, error)
        return error

    def _finish_run(self, step: Step) -> None:
        """Clear the in-progress record of a run that left nothing half done."""
        import psycopg

        if not self.conn.closed and not self.conn.broken:
            with suppress(psycopg.Error):
                registry.finish_run(self.conn, step.migration.revision, step.direction)

    def undo_interrupted(self, migration: Migration) -> StepResult:
        """Undo a non-transactional migration whose run was interrupted before it was
        recorded as applied: run its paired rollback (idempotent), then clear the record."""
        step = Step(migration, "up", migration.down_revision, migration.revision)
        self.reporter.step_started(migration, "down")
        notes: list[str] = []
        t0 = time.perf_counter()
        started_at = datetime.now(UTC)
        self._set_timeouts(migration, local=False)
        try:
            undone = self._undo(step, notes)
        finally:
            self._reset_timeouts()
        if not undone:
            raise MigrationFailed(
                f"undoing the interrupted run of {migration.name} failed: {'; '.join(notes)}",
                revision=migration.revision,
                undone=False,
                hint="fix the cause, then run `dbkit rollback` again (the files are idempotent)",
            )
        duration = (time.perf_counter() - t0) * 1000
        with self.conn.transaction():
            registry.record(
                self.conn,
                migration,
                direction="down",
                started_at=started_at,
                duration_ms=duration,
                message=f"undid the interrupted run of {migration.name}",
            )
            registry.finish_run(self.conn, migration.revision, "up")
        result = StepResult(
            revision=migration.revision,
            name=migration.name,
            phase=migration.phase,
            direction="down",
            outcome="rolled back",
            duration_ms=duration,
            transactional=False,
            notes=["its run had been interrupted; " + "; ".join(notes)],
        )
        self.reporter.step_finished(result)
        return result

    def _undo(self, step: Step, notes: list[str]) -> bool:
        """Run the migration's other file to return to where this step started."""
        import psycopg

        migration = step.migration
        other = "down" if step.direction == "up" else "up"
        path = migration.relpath(migration.sql_path(other))
        for statement in self.split(migration.sql(other)):
            try:
                self._drop_invalid_index(statement, notes, reason="before undoing")
                self.conn.execute(statement.text)
            except psycopg.Error as exc:
                notes.append(
                    f"undo with {path} failed at line {statement.line}: "
                    f"{one_line(exc.diag.message_primary or str(exc))}"
                )
                return False
        notes.append(f"undid the statements that had run with {path}")
        return True

    def _index_state(self, statement: sqltext.Statement) -> tuple[str, bool] | None:
        """``(index, valid)`` of the index a ``CREATE INDEX CONCURRENTLY`` names, if it exists."""
        target = statement.concurrent_index
        if target is None:
            return None
        _, name = target
        if not statement.relations:
            return None
        # An index lives in its table's schema, whatever the search_path says.
        return self.conn.execute(
            "SELECT c.oid::regclass::text, i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s AND c.relnamespace = "
            "(SELECT t.relnamespace FROM pg_class t WHERE t.oid = to_regclass(%s))",
            (name, statement.relations[0]),
        ).fetchone()

    def _confirm_index_valid(self, statement: sqltext.Statement) -> None:
        """After ``CREATE INDEX CONCURRENTLY``: the index it names must exist and be valid, or
        the statement failed (an invalid index is never used by queries)."""
        import psycopg

        if statement.concurrent_index is None:
            return
        state = self._index_state(statement)
        if state is None or not state[1]:
            name = state[0] if state else statement.concurrent_index[1]
            raise psycopg.errors.ObjectNotInPrerequisiteState(
                f"index {name} is "
                + ("INVALID" if state else "missing")
                + " after CREATE INDEX CONCURRENTLY (queries would not use it)"
            )

    def _drop_invalid_index(self, statement: sqltext.Statement, notes: list[str], reason: str):
        state = self._index_state(statement)
        if state is None or state[1]:
            return
        row = state
        self.conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {row[0]}")
        notes.append(f"dropped invalid index {row[0]} ({reason})")
        self.reporter.note(f"dropped invalid index {row[0]} ({reason})")

    # -- shared pieces --------------------------------------------------------------------

    @staticmethod
    def _undone(step: Step) -> str:
        return "rolled back" if step.direction == "up" else "kept applied (its rollback was undone)"

    @staticmethod
    def _left_for_inspection(step: Step) -> str:
        if step.direction == "up":
            return (
                f"{step.migration.name} was LEFT APPLIED for inspection (--no-auto-rollback); "
                f"undo it with `dbkit rollback --to {step.from_revision or 'base'}`"
            )
        return (
            f"the rollback of {step.migration.name} was LEFT DONE for inspection "
            "(--no-auto-rollback)"
        )

    def _timeouts(self, migration: Migration) -> tuple[str, str]:
        return self.settings.limits(migration)

    def _set_timeouts(self, migration: Migration, *, local: bool) -> None:
        lock_timeout, statement_timeout = self._timeouts(migration)
        self.conn.execute(preamble_sql(lock_timeout, statement_timeout, local=local))

    def _clean_session(self, migration: Migration) -> None:
        """Undo whatever the file SET for the session (search_path, ROLE, SESSION
        AUTHORIZATION, any setting), then put the migration's limits back in force."""
        if self.conn.closed or self.conn.broken:
            return
        self.conn.execute(CLEAN_SESSION)
        self._set_timeouts(migration, local=False)

    def _reset_timeouts(self) -> None:
        if not self.conn.closed and not self.conn.broken:
            self.conn.execute(reset_sql())

    def _should_retry(
        self,
        step: Step,
        statement: sqltext.Statement | None,
        exc: Exception,
        attempt: int,
        notes: list[str],
    ) -> bool:
        """Wait and say so when a statement hit lock_timeout and retries are left.

        ``statement`` is None when the whole file ran as one query: the blockers are then
        looked up on every relation the file names.
        """
        if getattr(exc, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            return False
        if attempt >= self.settings.lock_retries:
            return False
        delay = self.settings.lock_retry_delay * (2**attempt)
        migration = step.migration
        where = migration.relpath(migration.sql_path(step.direction))
        retry = f"retry {attempt + 1}/{self.settings.lock_retries} in {delay:g}s"
        if statement is None or statement.text == migration.sql(step.direction):
            # The whole file ran as one query: which statement waited is not known yet, so
            # the retries run it statement by statement and the next note names it.
            text = (
                f"{migration.name}: lock_timeout ({self._timeouts(migration)[0]}) in {where}; "
                f"{retry}, statement by statement to name the one that waits"
            )
        else:
            where += f":{statement.line}"
            if any(f" at {where} " in note for note in notes):
                text = f"{migration.name}: still waiting at {where}; {retry}"
            else:
                # said once per statement, naming only the relations that statement locks
                blockers = lock_blockers(self.conn, statement.relations)
                held = f" (blocked by {'; '.join(blockers)})" if blockers else ""
                text = (
                    f"{migration.name}: lock_timeout ({self._timeouts(migration)[0]}) at "
                    f"{where} {statement.summary}{held}; {retry}"
                )
        notes.append(text)
        self.reporter.note(text)
        time.sleep(delay)
        return True

    @staticmethod
    def _waited_note(total_ms: float, last_t0: float, first_t0: float) -> str:
        """How long a migration that waited through lock retries took, and how much of it was
        waiting (every attempt but the last, and the pauses between them)."""
        waited = last_t0 - first_t0
        return (
            f"took {total_ms / 1000:.1f}s in all, {waited:.1f}s of it waiting for locks "
            "(failed attempts and the pauses between them)"
        )

    @staticmethod
    def _relations(step: Step, statement: sqltext.Statement | None) -> list[str]:
        if statement is not None and statement.text != step.migration.sql(step.direction):
            return statement.relations
        names: list[str] = []
        for each in sqltext.split(step.migration.sql(step.direction)):
            names.extend(n for n in each.relations if n not in names)
        return names

    def _record(
        self, step: Step, started_at: datetime, duration_ms: float, message: str | None = None
    ) -> None:
        """Move alembic_version and append the history row, in one statement."""
        import psycopg

        try:
            self._move_and_record(step, started_at, duration_ms, message)
        except psycopg.Error as exc:
            if registry.version_guard_tripped(exc):
                raise self._moved_elsewhere(step) from None
            raise

    def _left_message(self, failed: list[CheckResult], step: Step) -> str:
        """The history message of a run left applied although its checks failed."""
        return (
            f"{registry.LEFT_APPLIED}: "
            + validation_failed(failed, self._left_for_inspection(step)).message
        )

    def _move_and_record(
        self, step: Step, started_at: datetime, duration_ms: float, message: str | None = None
    ):
        return registry.move_and_record(
            self.conn,
            step.migration,
            from_revision=step.from_revision,
            to_revision=step.to_revision,
            direction=step.direction,
            started_at=started_at,
            duration_ms=duration_ms,
            message=message,
        )

    @staticmethod
    def _moved_elsewhere(step: Step) -> DatabaseStateError:
        return DatabaseStateError(
            f"alembic_version was not at {step.from_revision or 'base'} when "
            f"{step.migration.name} finished, so nothing of it was kept; another tool "
            "changed it during the run"
        )

    def _record_failure(
        self, step: Step, started_at: datetime, duration_ms: float, failure: DbkitError
    ) -> None:
        if self.dry_run or self.conn.broken:
            return
        import psycopg

        # The failure itself is what the user must see; a lost history row must not hide it.
        with suppress(psycopg.Error):
            registry.record(
                self.conn,
                step.migration,
                direction=step.direction,
                outcome="interrupted" if isinstance(failure, Interrupted) else "failed",
                started_at=started_at,
                duration_ms=duration_ms,
                message=failure.message,
            )

    def _failure(
        self,
        step: Step,
        statement: sqltext.Statement | None,
        exc: Exception,
        *,
        notes: list[str],
        done: list[sqltext.Statement] | None = None,
        statements: list[sqltext.Statement] | None = None,
        undone: bool = True,
        offset: int = 0,
    ) -> MigrationFailed:
        locked = getattr(exc, "sqlstate", None) == LOCK_NOT_AVAILABLE and statement is not None
        return migration_failed(
            step,
            statement,
            exc,
            notes=notes,
            lock_timeout=self._timeouts(step.migration)[0],
            lock_retries=self.settings.lock_retries,
            blockers=lock_blockers(self.conn, statement.relations) if locked else [],
            done=done,
            statements=statements,
            undone=undone,
            offset=offset,
        )

    def _result(
        self,
        step: Step,
        duration_ms: float,
        notes: list[str],
        outcome: str | None = None,
    ) -> StepResult:
        if outcome is None:
            outcome = "applied" if step.direction == "up" else "rolled back"
        return StepResult(
            revision=step.migration.revision,
            name=step.migration.name,
            phase=step.migration.phase,
            direction=step.direction,
            outcome=outcome,
            duration_ms=duration_ms,
            transactional=step.migration.transactional,
            notes=list(notes),
        )


# admin_shutdown, crash_shutdown, cannot_connect_now: the session is gone
_GONE = frozenset({"57P01", "57P02", "57P03"})


def _recorded(error: ValidationFailed) -> ValidationFailed:
    """Mark a failure whose run already wrote its history row (left applied)."""
    error.recorded = True  # type: ignore[attr-defined]
    return error


# What a migration's file may have changed in the session, undone after it: every migration
# (and dbkit's own bookkeeping) starts from the connection's defaults. RESET ALL leaves the
# transaction's own characteristics alone; the limits are set again right after.
CLEAN_SESSION = "SET SESSION AUTHORIZATION DEFAULT; RESET ROLE; RESET ALL"


# How every check is planned, by run_check and by lint's EXPLAIN alike: with
# constraint_exclusion = on, a check asking for the rows a validated CHECK constraint forbids
# is planned as empty instead of reading the table (the default, ``partition``, consults the
# constraints of partitions only).
CHECK_PLANNING = "SET LOCAL constraint_exclusion = on"


def run_check(
    conn: psycopg.Connection,
    check: Check,
    *,
    project_dir: Path | None = None,
    when: str = "",
    budget: str | None = None,
    opening: str = "",
) -> CheckResult:
    """Run one check, read-only: count its rows and keep the first few, in one query.

    The query runs in a read-only transaction of its own (a savepoint with
    ``transaction_read_only`` inside a migration's transaction, rolled back after), so a check
    that calls a function which writes fails instead of changing anything. ``budget`` is its
    ``statement_timeout`` (``check_timeout``), set locally in that savepoint or transaction so
    the rollback puts the previous value back: the savepoint, the limits and the query travel
    in one round trip, the rollback in a second. ``opening`` is text that opens a transaction
    (``BEGIN`` and limits), sent in front of it all: the check then runs inside it.
    """
    t0 = time.perf_counter()
    limits = f"; {CHECK_PLANNING}"
    if budget and budget.strip() not in ("0", "0s", "0ms"):
        limits += "; SET LOCAL statement_timeout = '{}'".format(budget.replace("'", "''"))
    with read_only(conn, send=False, nested=bool(opening) or None) as begin:
        cursor = conn.execute(
            f"{opening}{begin}{limits};\nSELECT count(*) OVER () AS dbkit_rows_found, offending.* "
            f"FROM ({check.query}\n) AS offending LIMIT {SAMPLE_ROWS}"
        )
        while cursor.nextset():  # the results of the savepoint and the settings come first
            pass
        rows = cursor.fetchall()
    columns = [c.name for c in cursor.description or []][1:]
    duration = (time.perf_counter() - t0) * 1000
    found = rows[0][0] if rows else 0
    sample = [dict(zip(columns, _jsonable(row[1:]), strict=True)) for row in rows]
    return CheckResult(
        name=check.name,
        location=check.location(project_dir),
        rows_found=found,
        sample=sample,
        duration_ms=duration,
        when=when,
    )


@contextmanager
def read_only(
    conn: psycopg.Connection, *, send: bool = True, nested: bool | None = None
) -> Iterator[str]:
    """Run the block read-only and undo whatever it did: inside an open transaction a savepoint
    with ``SET LOCAL transaction_read_only = on`` (rolled back to after), else a ``BEGIN READ
    ONLY`` transaction (rolled back). With ``send=False`` the block gets that opening text to
    send in front of its own first query (one round trip less) instead; ``nested=True`` when
    that query itself opens the transaction first."""
    if nested is None:
        nested = conn.info.transaction_status.name != "IDLE"
    if nested:
        begin = "SAVEPOINT dbkit_check; SET LOCAL transaction_read_only = on"
    else:
        begin = "BEGIN READ ONLY"
    if send:
        conn.execute(begin)
    undo = (
        "ROLLBACK TO SAVEPOINT dbkit_check; RELEASE SAVEPOINT dbkit_check" if nested else "ROLLBACK"
    )
    try:
        yield "" if send else begin
    except BaseException:
        # The block's own error is what matters. (Sent with the block's query, the opening
        # may not have run: a query the server cannot parse runs nothing of its text. The
        # caller's transaction is then aborted, and its rollback undoes everything.)
        if not conn.closed and not conn.broken:
            import psycopg

            with suppress(psycopg.Error):
                conn.execute(undo)
        raise
    if not conn.closed and not conn.broken:
        conn.execute(undo)


def _jsonable(values: tuple) -> list[Any]:
    out = []
    for value in values:
        if value is None or isinstance(value, bool | int | float | str):
            out.append(value)
        else:
            out.append(str(value))
    return out


class _Transaction:
    """One migration's transaction: BEGIN (a savepoint inside a dry run) with its timeouts.

    ``begin_sql`` may travel in front of the migration's file and ``commit`` in a pipeline
    after the bookkeeping, to save round trips. ``rollback`` works whatever got
    through: after a syntax error the server ran nothing, not even BEGIN.
    """

    def __init__(self, conn: psycopg.Connection, lock_timeout: str, statement_timeout: str):
        import psycopg

        self.conn = conn
        self.nested = conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        start = "SAVEPOINT dbkit_step" if self.nested else "BEGIN"
        self.limits_sql = preamble_sql(lock_timeout, statement_timeout, local=True)
        self.begin_sql = f"{start}; {self.limits_sql}\n"
        self.open = False

    def begin(self) -> None:
        self.conn.execute(self.begin_sql)
        self.open = True

    def commit(self) -> None:
        """COMMIT (or release the savepoint); queued when called inside a pipeline block."""
        self.conn.execute("RELEASE SAVEPOINT dbkit_step" if self.nested else "COMMIT")
        self.open = False

    def rollback(self) -> None:
        import psycopg

        if self.conn.closed or self.conn.broken:
            return
        if self.nested:
            failed = self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
            if self.open or failed:
                # (the savepoint travelled in front of the file: it exists unless the whole
                # text failed to parse, which the caller's outer rollback then undoes)
                with suppress(psycopg.Error):
                    self.conn.execute(
                        "ROLLBACK TO SAVEPOINT dbkit_step; RELEASE SAVEPOINT dbkit_step"
                    )
        elif self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")
        self.open = False
