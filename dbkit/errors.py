"""dbkit's error hierarchy.

Every failure a user can cause or meet is a ``DbkitError`` carrying its exit code, so the CLI
catches one type in one place and CI can tell "broken plan" from "lock busy" by the code alone.
Messages are written for a DBA: they say what is wrong, where, and what to do next.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes (README "Exit codes"); never renumber them."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    VALIDATION_FAILED = 3
    CHECKSUM_MISMATCH = 4
    LOCK_NOT_ACQUIRED = 5
    INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2
    TERMINATED = 143  # SIGTERM: 128 + 15


class DbkitError(Exception):
    """Root of every error dbkit raises on purpose."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.completed: list = []  # steps that finished before the failure (migrate/rollback)
        self.checks: list = []  # checks that ran before the failure

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(DbkitError):
    """The command line or the settings ask for something that cannot be done."""

    exit_code = ExitCode.USAGE


class ProjectError(DbkitError):
    """The project directory is not a dbkit project, or a file in it cannot be read."""

    exit_code = ExitCode.USAGE


class PlanError(DbkitError):
    """The migration plan is broken (missing rollback, orphan file, two heads, ...).

    Raised before any connection is made, so a broken plan never touches a database.
    ``rule`` names the lint rule it breaks (``dbkit lint``), when one applies.
    """

    def __init__(self, message: str, *, hint: str | None = None, rule: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.rule = rule


class RevisionNotFound(UsageError):
    """A revision or phase named on the command line does not exist in the plan."""


class ConnectionFailed(DbkitError):
    """The database could not be reached; the message never contains the password."""


class UnsupportedServer(DbkitError):
    """The server is older than the oldest PostgreSQL major dbkit supports."""


class EmbeddedServerError(DbkitError):
    """The embedded default PostgreSQL server could not be started, stopped or found."""


class LockNotAcquired(DbkitError):
    """Another dbkit run holds the migration lock and did not release it in time."""

    exit_code = ExitCode.LOCK_NOT_ACQUIRED


class ChecksumMismatch(DbkitError):
    """An applied migration's files were edited after it ran."""

    exit_code = ExitCode.CHECKSUM_MISMATCH

    def __init__(self, message: str, *, revisions: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.revisions = revisions


class DatabaseStateError(DbkitError):
    """The database's recorded state does not fit the plan (unknown revision, two version rows)."""


class MigrationFailed(DbkitError):
    """A migration's SQL failed; nothing of that migration stays applied.

    ``location`` is ``path:line`` of the failing statement; ``done`` and ``not_done`` describe a
    non-transactional migration's statements, which cannot be undone by a transaction rollback.
    """

    def __init__(
        self,
        message: str,
        *,
        revision: str,
        location: str | None = None,
        sqlstate: str | None = None,
        done: list[str] | None = None,
        not_done: list[str] | None = None,
        undone: bool = True,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.revision = revision
        self.location = location
        self.sqlstate = sqlstate
        self.done = done or []
        self.not_done = not_done or []
        self.undone = undone


class LintFailed(DbkitError):
    """``dbkit lint`` found problems of severity error (its report lists them)."""


class ValidationFailed(DbkitError):
    """A check found offending rows; the unit it guarded was not applied or was rolled back."""

    exit_code = ExitCode.VALIDATION_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.results: list = []  # the failed CheckResults


class ScratchDatabaseError(DbkitError):
    """A throwaway database for ``verify`` or ``drift`` could not be created or dropped.

    Usually the role lacks CREATEDB on that server: the message says which server and role,
    and the hint how to point the scratch database elsewhere.
    """


class SynthError(DbkitError):
    """``dbkit synth`` cannot generate what was asked (a CHECK it cannot satisfy, a unique
    column too small for the rows, a COPY the server refused); nothing was written."""


class SynthUsageError(UsageError):
    """``dbkit synth`` was asked for something that does not exist: an unknown table, profile,
    or profile column, or a malformed profile file."""


class Interrupted(DbkitError):
    """SIGINT or SIGTERM stopped the run: the running step failed and was cleaned up.

    The message says what was interrupted and what state the database is in; the exit code is
    130 (SIGINT) or 143 (SIGTERM). See :mod:`dbkit.engine.interrupts`.
    """

    def __init__(self, message: str, *, exit_code: int = 130, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = ExitCode(exit_code)
