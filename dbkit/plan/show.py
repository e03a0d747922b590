"""``dbkit show REV``: one migration in one view, offline.

Everything a reviewer needs about a revision without a database: where it sits in the chain,
its phase and description, its options with the values that will apply (its own overrides or
the project's settings), the checksum dbkit records, its SQL pair and its checks (and its
phase's checks when it opens or closes the phase).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbkit.errors import UsageError
from dbkit.plan.checks import CheckFile
from dbkit.plan.graph import load_readable_plan
from dbkit.plan.preamble import LIMITS, preamble
from dbkit.settings import resolve


@dataclass
class CheckView:
    name: str
    kind: str
    description: str
    query: str
    location: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RevisionView:
    revision: str
    name: str
    phase: str
    description: str  # the revision file's whole docstring
    position: int  # 1-based place in the chain
    total: int
    down_revision: str | None
    next_revision: str | None
    transactional: bool
    options: dict[str, dict[str, str]]  # lock_timeout/statement_timeout -> value, source
    checksum: str
    files: dict[str, str]  # revision, up, down, pre_checks, post_checks (relative paths)
    up_sql: str
    down_sql: str
    pre_checks: list[CheckView] = field(default_factory=list)
    post_checks: list[CheckView] = field(default_factory=list)
    phase_pre_checks: list[CheckView] = field(default_factory=list)  # when it opens the phase
    phase_post_checks: list[CheckView] = field(default_factory=list)  # when it closes it
    preamble: list[str] = field(default_factory=list)  # what the runner sends before the file

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("pre_checks", "post_checks", "phase_pre_checks", "phase_post_checks"):
            data[key] = [c.to_dict() for c in getattr(self, key)]
        return data


def show(project_dir: Path | str, revision: str) -> RevisionView:
    """Describe ``revision`` (an id, a file name or its prefix, or ``head``)."""
    from dbkit.plan.checks import CheckBook

    plan, _ = load_readable_plan(project_dir)  # a forked plan still shows its revisions
    by_name = [i for i, m in enumerate(plan.migrations) if m.name == revision]
    if by_name:
        index = by_name[0]
    else:
        if plan.forked and revision == "head":
            raise UsageError(
                f"the plan has several heads ({', '.join(plan.heads)}): name one",
                hint="run `dbkit rebase` to make the chain linear again",
            )
        resolved = plan.resolve(revision)
        if resolved is None:
            raise UsageError("base is not a revision: name one, e.g. `dbkit show head`")
        index = plan.position(resolved)
    migration = plan.migrations[index]
    project = plan.project_dir
    settings = resolve(project, need_url=False)
    options = {}
    for option, value in zip(LIMITS, settings.limits(migration), strict=True):
        source = "revision" if getattr(migration, option) else settings.sources[option]
        options[option] = {"value": value, "source": source}
    book = CheckBook(plan)
    first, last = plan.phase_span(migration.phase)

    def rel(path: Path) -> str:
        return migration.relpath(path)

    def views(checks: CheckFile) -> list[CheckView]:
        return [
            CheckView(c.name, c.kind, c.description, c.query, c.location(project))
            for c in checks.checks
        ]

    return RevisionView(
        revision=migration.revision,
        name=migration.name,
        phase=migration.phase,
        description=_docstring(migration.revision_path) or migration.description,
        position=index + 1,
        total=len(plan),
        down_revision=migration.down_revision,
        next_revision=", ".join(m.revision for m in plan.children(migration.revision)) or None,
        transactional=migration.transactional,
        options=options,
        checksum=migration.checksum,
        files={
            "revision": rel(migration.revision_path),
            "up": rel(migration.up_path),
            "down": rel(migration.down_path),
            "pre_checks": rel(migration.pre_check_path),
            "post_checks": rel(migration.post_check_path),
        },
        up_sql=migration.up_sql,
        down_sql=migration.down_sql,
        pre_checks=views(book.file(migration.pre_check_path)),
        post_checks=views(book.file(migration.post_check_path)),
        phase_pre_checks=views(book.phase_file(migration.phase, "pre")) if index == first else [],
        phase_post_checks=views(book.phase_file(migration.phase, "post")) if index == last else [],
        preamble=preamble(*settings.limits(migration), local=migration.transactional),
    )


def _docstring(path: Path) -> str:
    try:
        return (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()
    except (OSError, SyntaxError, UnicodeDecodeError):
        return ""
