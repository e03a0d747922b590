"""Sqitch: ``sqitch.plan`` naming the changes in order, with ``deploy/``, ``revert/``, ``verify/``.

The plan's change lines give the order (tags ``@name`` only mark points in it). A change
reworked after a tag appears twice: its earlier version's scripts are ``deploy/<name>@<tag>.sql``
(the first tag after it), the later one's ``deploy/<name>.sql``. Sqitch runs each script with
psql as written, so a script wrapped in ``BEGIN; ... COMMIT;`` is transactional (the wrapper is
removed: dbkit runs the transaction) and one without is not. A verify script whose statements
are all queries becomes post-checks (each query wrapped so it passes when it runs without
error, as Sqitch judges it); any other verify script is listed. The history is
``sqitch.changes`` (one row per deployed change).
"""

from __future__ import annotations

import re
from pathlib import Path

from dbkit.plan.importers.base import (
    ImportSourceError,
    SourceMigration,
    SourceScan,
    read,
    strip_transaction,
)

FORMAT = "sqitch"
_CHANGE = re.compile(r"^(?P<name>[^\s@#:\[\]]+)(\s|$)")


def scan(source_dir: Path) -> SourceScan:
    result = SourceScan(FORMAT, source_dir)
    plan_file = source_dir / "sqitch.plan"
    if not plan_file.is_file():
        for path in sorted(source_dir.iterdir()):
            result.ignored.append((path.name, "no sqitch.plan next to it"))
        return result
    entries: list[tuple[str, int]] = []  # (change name, line)
    tags_after: dict[int, str] = {}  # entry index -> first tag after it
    for number, raw in enumerate(read(plan_file).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("%"):
            continue
        if line.startswith("@"):
            tag = line.split()[0][1:]
            for index in range(len(entries)):
                tags_after.setdefault(index, tag)
            continue
        if line[0] in "+-":
            raise ImportSourceError(
                f"{plan_file}:{number}: a +/- change line (old plan syntax) is not supported"
            )
        match = _CHANGE.match(line)
        if not match:
            raise ImportSourceError(f"{plan_file}:{number}: not a change or tag line: {line!r}")
        entries.append((match["name"], number))
    names = [name for name, _ in entries]
    used: set[Path] = {plan_file}
    for index, (name, number) in enumerate(entries):
        reworked = name in names[index + 1 :]
        script = f"{name}@{tags_after[index]}" if reworked and index in tags_after else name
        version = f"{name}@{tags_after[index]}" if reworked and index in tags_after else name
        deploy = source_dir / "deploy" / f"{script}.sql"
        if not deploy.is_file():
            raise ImportSourceError(
                f"{plan_file}:{number}: change {name} has no deploy script deploy/{script}.sql"
            )
        revert = source_dir / "revert" / f"{script}.sql"
        verify = source_dir / "verify" / f"{script}.sql"
        used.update((deploy, revert, verify))
        up, wrapped = strip_transaction(read(deploy))
        down = strip_transaction(read(revert))[0] if revert.is_file() else None
        migration = SourceMigration(
            version=version,
            name=name,
            files=[str(p.relative_to(source_dir)) for p in (deploy, revert, verify) if p.is_file()],
            up=up,
            down=down,
            transactional=wrapped,
            verify=read(verify) if verify.is_file() else None,
        )
        if not wrapped:
            migration.notes.append(
                "no BEGIN/COMMIT in its deploy script: psql ran it statement by statement, "
                "so it is non-transactional here too"
            )
        result.migrations.append(migration)
    for path in sorted(source_dir.rglob("*")):
        if path.is_file() and path not in used and path.name not in ("sqitch.conf",):
            result.ignored.append(
                (str(path.relative_to(source_dir)), "not a script of a change in sqitch.plan")
            )
    return result


def verify_checks(verify: str, slug: str, origin: str) -> tuple[str, int, str | None]:
    """A verify script as a post-check file: ``(text, number of checks, note)``.

    Sqitch's verify passes when the script runs without error; a dbkit check passes when its
    query returns no rows. The wrapper
    ``SELECT count(verify) FROM (<query>) AS verify HAVING count(verify) < 0`` computes
    every row of the query, each column included (its errors fail the check), and never
    returns a row.
    """
    from dbkit.plan import sqltext

    body, _ = strip_transaction(verify, rollback_end=True)
    statements = sqltext.split(body)
    if not statements:
        return "", 0, None
    kinds = [_statement_kind(s.text) for s in statements]
    if any(kind != "SelectStmt" for kind in kinds):
        other = next(k for k in kinds if k != "SelectStmt")
        return (
            "",
            0,
            (
                f"verify script not converted to post-checks: it holds a {other or 'statement'} "
                "besides queries (dbkit checks are queries)"
            ),
        )
    lines = [f"-- Post-checks from the Sqitch verify script {origin.split(', ')[-1]}.", ""]
    for number, statement in enumerate(statements, start=1):
        query = _strip_comments(statement.text).rstrip().rstrip(";")
        lines += [
            f"-- check: verify_{slug}_{number}"[: 60 + 8],
            "-- Runs the verify query; fails if it raises an error, as Sqitch's verify does.",
            f"SELECT count(verify) FROM (\n{query}\n) AS verify HAVING count(verify) < 0;",
            "",
        ]
    return "\n".join(lines), len(statements), None


def _statement_kind(text: str) -> str | None:
    """The parse node's name of one statement (``SelectStmt``...), ``None`` if it does not parse."""
    import pglast

    try:
        parsed = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return None
    return type(parsed[0].stmt).__name__ if parsed else None


def _strip_comments(text: str) -> str:
    kept = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return "\n".join(kept).strip()
