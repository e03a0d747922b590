"""A lint finding, shared by dbkit's own rules (:mod:`dbkit.lint.rules`) and the external tools
(:mod:`dbkit.lint.tools`), so neither imports the other to describe one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One problem in one file."""

    path: str  # relative to the project; "" for a problem of the project as a whole
    line: int | None  # 1-based; None when it is about the whole file
    rule: str  # dbkit/missing-rollback, sqlfluff/LT01, squawk/adding-field-with-default
    message: str
    severity: str = "error"  # error (fails the lint) | warning (reported only)
    source: str = "dbkit"  # dbkit | sqlfluff | squawk

    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.source, self.rule, self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "rule": self.rule,
            "message": self.message,
            "severity": self.severity,
            "source": self.source,
        }


def migration_name(path: Path) -> str:
    """The migration a file of sql/ or rollbacks/ belongs to (``0007_leads`` for
    ``rollbacks/0007_leads.data.sql``, a rollback of a lighter level)."""
    return path.name.split(".", 1)[0]
