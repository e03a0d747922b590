"""What a check's plan would scan: ``EXPLAIN`` (never ANALYZE) of checks and key queries.

``dbkit lint`` with a database (rule ``dbkit/check-scans-big-table``) asks here which checks
would read a whole big relation: a sequential scan, or an index scan with no index condition
(every entry of the index), over a relation whose ``reltuples`` reaches the threshold
(``big_table_rows``). A subtree under a one-time filter the planner proved false never runs and
is not counted. A check that cannot be planned here (its tables come with a migration the
database has not reached) is skipped and counted as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbkit.engine.runner import CHECK_PLANNING

if TYPE_CHECKING:
    import psycopg

    from dbkit.plan.checks import Check


@dataclass(frozen=True)
class BigScan:
    """One node of a check's plan that reads a whole big relation."""

    check: Check
    relation: str  # schema.name
    rows: int  # pg_class.reltuples
    node: str  # "Seq Scan", "Index Only Scan using users_pkey" (full index)


@dataclass
class ScanReport:
    scans: list[BigScan] = field(default_factory=list)
    explained: int = 0
    not_planned: list[tuple[Check, str]] = field(default_factory=list)  # (check, why)


_WHOLE = ("Seq Scan", "Index Scan", "Index Only Scan")


def _whole_reads(plan: dict[str, Any], limited: bool = False) -> Iterator[tuple[str, str, str]]:
    """(schema, relation, node) for each node of ``plan`` reading a whole relation.

    ``limited``: the node feeds a Limit directly, so an unfiltered scan stops after the few
    rows it needs (``ORDER BY id LIMIT 1`` over the primary key reads one entry)."""
    if plan.get("One-Time Filter", "").strip() == "false":
        return
    kind = plan.get("Node Type", "")
    if kind in _WHOLE and "Relation Name" in plan and not (limited and "Filter" not in plan):
        if kind == "Seq Scan":
            yield plan.get("Schema", "public"), plan["Relation Name"], kind
        elif "Index Cond" not in plan:
            yield (
                plan.get("Schema", "public"),
                plan["Relation Name"],
                f"{kind} using {plan.get('Index Name', '?')} (no index condition: every entry)",
            )
    for child in plan.get("Plans", []):
        yield from _whole_reads(child, kind == "Limit")


def big_scans(conn: psycopg.Connection, checks: Iterable[Check], threshold: int) -> ScanReport:
    """EXPLAIN each check in a read-only transaction (rolled back) and list the whole reads
    of relations with at least ``threshold`` estimated rows."""
    import psycopg

    report = ScanReport()
    sizes: dict[tuple[str, str], int] = {}
    conn.execute("BEGIN READ ONLY")
    conn.execute(CHECK_PLANNING)  # planned as run_check plans it
    try:
        for check in checks:
            conn.execute("SAVEPOINT dbkit_explain")
            try:
                row = conn.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {check.query}").fetchone()
            except psycopg.Error as exc:
                conn.execute("ROLLBACK TO SAVEPOINT dbkit_explain")
                why = getattr(exc.diag, "message_primary", None) or str(exc)
                report.not_planned.append((check, why.strip().splitlines()[0]))
                continue
            conn.execute("RELEASE SAVEPOINT dbkit_explain")
            report.explained += 1
            document = row[0]
            if isinstance(document, str):
                import json

                document = json.loads(document)
            seen = set()
            for schema, relation, node in _whole_reads(document[0]["Plan"]):
                if (schema, relation, node) in seen:
                    continue
                seen.add((schema, relation, node))
                key = (schema, relation)
                if key not in sizes:
                    sizes[key] = conn.execute(
                        "SELECT coalesce((SELECT greatest(c.reltuples, 0)::bigint "
                        "FROM pg_catalog.pg_class AS c "
                        "WHERE c.oid = to_regclass(format('%%I.%%I', %s::text, %s::text))), 0)",
                        key,
                    ).fetchone()[0]
                if sizes[key] >= threshold:
                    report.scans.append(BigScan(check, f"{schema}.{relation}", sizes[key], node))
    finally:
        conn.execute("ROLLBACK")
    return report
