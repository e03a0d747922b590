"""The plan layer: revision files, the graph, check files, SQL text, offline rendering, scaffolds.

Nothing here connects to a database or imports a driver; the engine executes what the plan holds.
"""

from dbkit.plan.graph import (
    ROLLBACK_DIR,
    ROLLBACK_LEVELS,
    SQL_DIR,
    VALIDATION_DIR,
    VERSIONS_DIR,
    Migration,
    Plan,
    Problem,
    load_plan,
    parse_revision_file,
    scan_plan,
)

__all__ = [
    "ROLLBACK_DIR",
    "ROLLBACK_LEVELS",
    "SQL_DIR",
    "VALIDATION_DIR",
    "VERSIONS_DIR",
    "Migration",
    "Plan",
    "Problem",
    "load_plan",
    "parse_revision_file",
    "scan_plan",
]
