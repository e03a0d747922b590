"""Catalog snapshots: a normalized description of everything a migration can change.

:func:`snapshot` reads one database's catalog into a :class:`Snapshot`: for each kind of
object (schemas, tables, columns, constraints, indexes, views, functions, triggers, types,
sequences, policies, extensions, rules, event triggers, default privileges, comments), a map
from a stable key (``public.orders``, ``public.orders.total``, ``public.f(integer)``) to the
object's attributes as plain JSON values. :func:`diff` compares two snapshots and returns
readable :class:`Difference` lines. ``dbkit verify`` and ``dbkit drift`` are built on the two.

What makes two databases built the same way compare equal:

* no OIDs, no physical details (attribute numbers, tablespaces, sizes, statistics, sequence
  current values): columns carry their position among the live columns, so a column dropped
  and added again at the end is still a difference, but a dropped attribute slot is not;
* every text comes from PostgreSQL's own deparsers (``pg_get_constraintdef``,
  ``pg_get_indexdef``, ``pg_get_viewdef``, ``pg_get_functiondef``, ``pg_get_triggerdef``,
  ``pg_get_expr``) run with ``search_path = pg_catalog``, so every name is schema-qualified
  the same way whatever the session's search path;
* owners are left out (the role that runs the migrations differs between a scratch database
  and production). Grants are kept, normalized: a NULL ACL reads as the object type's
  default, the owner's own entries and grants it made are written ``OWNER``, and entries are
  sorted. Other role names (``dbkit_app``) are part of the schema and kept as they are;
* left out entirely: ``pg_catalog``, ``information_schema``, ``pg_toast``, temporary schemas,
  the ``dbkit`` registry schema (``exclude_schemas``), the ``alembic_version`` table, and the
  members of extensions (an extension is one object: name, schema, version);
* PostgreSQL 18's ``NOT NULL`` constraint rows are left out: the column's ``not_null`` says it,
  the same way on every major.

Snapshots taken on servers of different majors can differ in deparsed text (views, function
definitions); compare snapshots from the same major.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

DEFAULT_EXCLUDED_SCHEMAS = ("dbkit",)
IGNORED_TABLES = ("alembic_version",)

# Kinds of objects in a snapshot, in the order differences are reported, with the singular
# name used in messages.
CATEGORIES: dict[str, str] = {
    "extensions": "extension",
    "schemas": "schema",
    "types": "type",
    "sequences": "sequence",
    "tables": "table",
    "columns": "column",
    "constraints": "constraint",
    "indexes": "index",
    "views": "view",
    "functions": "function",
    "triggers": "trigger",
    "rules": "rule",
    "policies": "policy",
    "event_triggers": "event trigger",
    "default_privileges": "default privileges",
    "comments": "comment",
}


@dataclass
class Snapshot:
    """One database's catalog: ``objects[category][key] = {attribute: value}``.

    Equality compares the objects only; ``server_version`` is informational.
    """

    objects: dict[str, dict[str, dict[str, Any]]]
    server_version: int | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return sum(len(entries) for entries in self.objects.values())

    def get(self, category: str, key: str) -> dict[str, Any] | None:
        return self.objects.get(category, {}).get(key)

    def keys(self, category: str) -> list[str]:
        return list(self.objects.get(category, {}))

    def to_dict(self) -> dict[str, Any]:
        return {"server_version": self.server_version, "objects": self.objects}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        return cls(objects=data["objects"], server_version=data.get("server_version"))


#: Kinds of difference, lesser first, and what each means (``dbkit verify --accept KIND``).
DIFFERENCE_KINDS = {
    "column-order": "only a column's position differs (a rollback dropped a column and re-added "
    "it, so PostgreSQL put it at the end): queries naming columns are unaffected, SELECT * and "
    "COPY without a column list see another order",
    "schema": "an object is missing, extra or defined differently (a lost index, a changed "
    "type or default...)",
}


@dataclass(frozen=True)
class Difference:
    """One object that differs between an expected and an actual snapshot.

    ``kind`` is ``missing`` (expected, not there), ``extra`` (there, not expected) or
    ``changed`` (``attribute`` went from ``expected`` to ``actual``).
    """

    category: str
    key: str
    kind: str
    attribute: str | None = None
    expected: Any = None
    actual: Any = None

    @property
    def object(self) -> str:
        return f"{CATEGORIES.get(self.category, self.category)} {self.key}"

    @property
    def difference_kind(self) -> str:
        """``column-order`` for a column whose position alone changed, else ``schema`` (see
        :data:`DIFFERENCE_KINDS`)."""
        if self.category == "columns" and self.kind == "changed" and self.attribute == "position":
            return "column-order"
        return "schema"

    def __str__(self) -> str:
        if self.kind != "changed":
            return f"{self.object}: {self.kind}"
        attribute = self.attribute or "definition"
        if isinstance(self.expected, list) and isinstance(self.actual, list):
            return f"{self.object}: {attribute} changed: {_list_change(self.expected, self.actual)}"
        if _long(self.expected) or _long(self.actual):
            return f"{self.object}: {attribute} changed"
        return (
            f"{self.object}: {attribute} changed from {_show(self.expected)} "
            f"to {_show(self.actual)}"
        )

    def detail(self) -> list[str]:
        """A unified diff of a long text attribute (function bodies, view definitions)."""
        if self.kind != "changed" or not (_long(self.expected) or _long(self.actual)):
            return []
        before = str(self.expected or "").splitlines()
        after = str(self.actual or "").splitlines()
        lines = difflib.unified_diff(before, after, "expected", "actual", n=1, lineterm="")
        return list(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "object": self.key,
            "kind": self.kind,
            "attribute": self.attribute,
            "expected": self.expected,
            "actual": self.actual,
            "difference_kind": self.difference_kind,
            "message": str(self),
        }


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value) if value == "" or value != value.strip() else value
    return json.dumps(value)


def _long(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or len(value) > 120)


def _list_change(expected: list, actual: list) -> str:
    removed = [item for item in expected if item not in actual]
    added = [item for item in actual if item not in expected]
    parts = []
    if removed:
        parts.append("lost " + ", ".join(_show(item) for item in removed))
    if added:
        parts.append("gained " + ", ".join(_show(item) for item in added))
    if not parts:
        return f"order changed from {_show(expected)} to {_show(actual)}"
    return "; ".join(parts)


def diff(expected: Snapshot, actual: Snapshot) -> list[Difference]:
    """What differs from ``expected`` in ``actual``, ordered by category then key."""
    found: list[Difference] = []
    categories = list(CATEGORIES) + sorted(
        (set(expected.objects) | set(actual.objects)) - set(CATEGORIES)
    )
    for category in categories:
        want = expected.objects.get(category, {})
        have = actual.objects.get(category, {})
        for key in sorted(set(want) | set(have)):
            if key not in have:
                found.append(Difference(category, key, "missing"))
            elif key not in want:
                found.append(Difference(category, key, "extra"))
            elif want[key] != have[key]:
                for attribute in _ordered_keys(want[key], have[key]):
                    before, after = want[key].get(attribute), have[key].get(attribute)
                    if before != after:
                        found.append(Difference(category, key, "changed", attribute, before, after))
    return found


def _ordered_keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    keys = list(a)
    keys.extend(k for k in b if k not in a)
    return keys


def format_differences(differences: Iterable[Difference], *, limit: int | None = None) -> str:
    """Differences as text, one per line, with the unified diff of long definitions."""
    lines: list[str] = []
    items = list(differences)
    shown = items if limit is None else items[:limit]
    for difference in shown:
        lines.append(str(difference))
        lines.extend(f"    {line}" for line in difference.detail())
    if len(shown) < len(items):
        lines.append(f"... and {len(items) - len(shown)} more")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Reading a catalog
# --------------------------------------------------------------------------------------------


def snapshot(
    conn: psycopg.Connection,
    *,
    exclude_schemas: Iterable[str] = DEFAULT_EXCLUDED_SCHEMAS,
    only_schema: str | None = None,
) -> Snapshot:
    """Read the catalog of the database ``conn`` is connected to (read-only, one snapshot).

    Runs in one REPEATABLE READ READ ONLY transaction, so the result is consistent and the
    database is never written, and with ``search_path = pg_catalog`` so deparsed texts are
    fully qualified. ``conn`` must be in autocommit mode and not inside a transaction.
    ``only_schema``: read that schema alone (a tenant's, in a schema-per-tenant database).
    """
    excluded = list(exclude_schemas)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute("SET LOCAL search_path = pg_catalog")
        schemas = [
            row[0]
            for row in conn.execute(
                "SELECT n.nspname FROM pg_namespace n "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)' "
                "AND n.nspname <> ALL (%(excluded)s::text[]) "
                "AND (%(only)s::text IS NULL OR n.nspname = %(only)s) "
                f"AND {_not_member('pg_namespace', 'n.oid')} "
                "ORDER BY 1",
                {"excluded": excluded, "only": only_schema},
            )
        ]
        params = {"schemas": schemas, "ignored_tables": list(IGNORED_TABLES)}
        objects: dict[str, dict[str, dict[str, Any]]] = {}
        for category, query in _QUERIES.items():
            entries: dict[str, dict[str, Any]] = {}
            cursor = conn.execute(query, params)
            columns = [c.name for c in cursor.description or []]
            for row in cursor:
                record = dict(zip(columns, row, strict=True))
                key = record.pop("key")
                entries[key] = {name: _plain(value) for name, value in record.items()}
            objects[category] = dict(sorted(entries.items()))
    return Snapshot(objects=objects, server_version=conn.info.server_version)


def _plain(value: Any) -> Any:
    """Catalog values as JSON values (ordering is done by the queries)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)


def _not_member(catalog: str, oid: str) -> str:
    """SQL: the object is not a member of an extension."""
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '{catalog}'::regclass "
        f"AND dep.objid = {oid} AND dep.deptype = 'e')"
    )


def _acl(acl: str, kind: str, owner: str) -> str:
    """SQL: an ACL as a sorted text array, NULL read as the default and the owner as OWNER."""
    return (
        "(SELECT coalesce(array_agg(entry ORDER BY entry), '{}') FROM ("
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
        f"WHEN a.grantee = {owner} THEN 'OWNER' ELSE pg_get_userbyid(a.grantee) END "
        "|| ' ' || a.privilege_type "
        "|| CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END "
        f"|| CASE WHEN a.grantor = {owner} THEN '' "
        "ELSE ' (granted by ' || pg_get_userbyid(a.grantor) || ')' END AS entry "
        f"FROM aclexplode(coalesce({acl}, acldefault('{kind}', {owner}))) a) entries)"
    )


# Relations dbkit never reports: the version table and everything hanging off it.
_RELATION_FILTER = "c.relname <> ALL (%(ignored_tables)s::text[])"

_QUERIES: dict[str, str] = {
    "extensions": """
        SELECT e.extname AS key, n.nspname AS schema, e.extversion AS version
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname <> 'plpgsql'
        """,
    "schemas": f"""
        SELECT n.nspname AS key, {_acl("n.nspacl", "n", "n.nspowner")} AS acl
        FROM pg_namespace n WHERE n.nspname = ANY (%(schemas)s::text[])
        """,
    "types": f"""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(t.typname) AS key,
            CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite'
                WHEN 'r' THEN 'range' WHEN 'm' THEN 'multirange' WHEN 'b' THEN 'base'
                ELSE t.typtype::text END AS kind,
            CASE WHEN t.typtype = 'e' THEN (
                SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
                FROM pg_enum e WHERE e.enumtypid = t.oid) END AS values,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END
                AS base_type,
            CASE WHEN t.typtype = 'd' THEN t.typnotnull END AS not_null,
            CASE WHEN t.typtype = 'd' THEN t.typdefault END AS default,
            CASE WHEN t.typtype = 'd' THEN (
                SELECT array_agg(quote_ident(co.conname) || ' '
                    || pg_get_constraintdef(co.oid, true)
                    || CASE WHEN co.convalidated THEN '' ELSE ' (not validated)' END
                    ORDER BY co.conname)
                FROM pg_constraint co WHERE co.contypid = t.oid AND co.contype <> 'n') END
                AS constraints,
            CASE WHEN t.typtype = 'c' THEN (
                SELECT array_agg(quote_ident(a.attname) || ' '
                    || format_type(a.atttypid, a.atttypmod)
                    || CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation
                       THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END
                    ORDER BY a.attnum)
                FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
                WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END
                AS attributes,
            CASE WHEN t.typtype = 'r' THEN (
                SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid) END
                AS subtype,
            CASE WHEN t.typcollation <> 0 AND t.typtype = 'd'
                 AND t.typcollation <> (SELECT bt.typcollation FROM pg_type bt
                                        WHERE bt.oid = t.typbasetype)
                THEN t.typcollation::regcollation::text END AS collation,
            {_acl("t.typacl", "T", "t.typowner")} AS acl
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = ANY (%(schemas)s::text[])
          AND t.typtype IN ('e', 'd', 'c', 'r', 'b')
          AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_type et WHERE et.typarray = t.oid)
          AND {_not_member("pg_type", "t.oid")}
        """,
    "sequences": f"""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS key,
            format_type(s.seqtypid, NULL) AS type, s.seqstart AS start,
            s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max,
            s.seqcache AS cache, s.seqcycle AS cycle,
            c.relpersistence = 'u' AS unlogged,
            (SELECT quote_ident(tn.nspname) || '.' || quote_ident(tc.relname) || '.'
                    || quote_ident(a.attname)
                    || CASE d.deptype WHEN 'i' THEN ' (identity)' ELSE '' END
             FROM pg_depend d
             JOIN pg_class tc ON tc.oid = d.refobjid
             JOIN pg_namespace tn ON tn.oid = tc.relnamespace
             JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
               AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
             LIMIT 1) AS owned_by,
            {_acl("c.relacl", "s", "c.relowner")} AS acl
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY (%(schemas)s::text[]) AND {_not_member("pg_class", "c.oid")}
        """,
    "tables": f"""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS key,
            CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'
                WHEN 'f' THEN 'foreign table' END AS kind,
            c.relpersistence = 'u' AS unlogged,
            c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
            CASE c.relreplident WHEN 'd' THEN NULL WHEN 'n' THEN 'nothing' WHEN 'f' THEN 'full'
                WHEN 'i' THEN 'index' END AS replica_identity,
            (SELECT array_agg(o ORDER BY o) FROM unnest(c.reloptions) o) AS options,
            CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
            CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END
                AS partition_bound,
            (SELECT array_agg(quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
                              ORDER BY i.inhseqno)
             FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
             JOIN pg_namespace pn ON pn.oid = pc.relnamespace
             WHERE i.inhrelid = c.oid) AS inherits,
            {_acl("c.relacl", "r", "c.relowner")} AS acl
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY (%(schemas)s::text[]) AND c.relkind IN ('r', 'p', 'f')
          AND {_RELATION_FILTER} AND {_not_member("pg_class", "c.oid")}
        """,
    "columns": f"""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.'
                || quote_ident(a.attname) AS key,
            row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)::int AS position,
            format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null,
            CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default,
            CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS identity,
            CASE WHEN a.attgenerated <> '' THEN
                pg_get_expr(ad.adbin, ad.adrelid)
                || CASE a.attgenerated WHEN 's' THEN ' STORED' WHEN 'v' THEN ' VIRTUAL'
                   ELSE '' END END AS generated,
            CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                THEN a.attcollation::regcollation::text END AS collation,
            (SELECT array_agg(o ORDER BY o) FROM unnest(a.attoptions) o) AS options,
            CASE WHEN a.attacl IS NULL THEN '{{}}'::text[]
                ELSE {_acl("a.attacl", "c", "c.relowner")} END AS acl
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE n.nspname = ANY (%(schemas)s::text[]) AND c.relkind IN ('r', 'p', 'f')
          AND a.attnum > 0 AND NOT a.attisdropped
          AND {_RELATION_FILTER} AND {_not_member("pg_class", "c.oid")}
        """,
    "constraints": f"""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.'
                || quote_ident(co.conname) AS key,
            CASE co.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique'
                WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion'
                WHEN 't' THEN 'constraint trigger' ELSE co.contype::text END AS type,
            pg_get_constraintdef(co.oid, true) AS definition,
            co.convalidated AS validated,
            co.condeferrable AS deferrable, co.condeferred AS initially_deferred
        FROM pg_constraint co
        JOIN pg_class c ON c.oid = co.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY (%(schemas)s::text[]) AND co.contype <> 'n'
          AND {_RELATION_FILTER} AND {_not_member("pg_class", "c.oid")}
        """,
    "indexes": f"""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname) AS key,
            quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS table,
            pg_get_indexdef(i.indexrelid) AS definition,
            i.indisvalid AS valid,
            i.indisclustered AS clustered,
            i.indisreplident AS replica_identity,
            (SELECT array_agg(o ORDER BY o) FROM unnest(ic.reloptions) o) AS options
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE n.nspname = ANY (%(schemas)s::text[])
          AND {_RELATION_FILTER} AND {_not_member("pg_class", "c.oid")}
        """,
    "views": f"""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS key,
            CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END AS kind,
            pg_get_viewdef(c.oid, true) AS definition,
            (SELECT array_agg(o ORDER BY o) FROM unnest(c.reloptions) o) AS options,
            CASE WHEN c.relkind = 'm' THEN c.relispopulated END AS populated,
            {_acl("c.relacl", "r", "c.relowner")} AS acl
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY (%(schemas)s::text[]) AND c.relkind IN ('v', 'm')
          AND {_not_member("pg_class", "c.oid")}
        """,
    "functions": f"""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(p.proname)
                || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS key,
            CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure'
                WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' END AS kind,
            CASE WHEN p.prokind = 'a' THEN
                'aggregate ' || pg_get_function_result(p.oid) || ' state '
                || (SELECT ag.aggtransfn::text || ' ' || format_type(ag.aggtranstype, NULL)
                           || coalesce(' final '
                                       || nullif(ag.aggfinalfn::oid, 0)::regproc::text, '')
                           || coalesce(' initial ' || ag.agginitval, '')
                    FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid)
                ELSE pg_get_functiondef(p.oid) END AS definition,
            {_acl("p.proacl", "f", "p.proowner")} AS acl
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY (%(schemas)s::text[]) AND {_not_member("pg_proc", "p.oid")}
        """,
    "triggers": f"""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.'
                || quote_ident(tg.tgname) AS key,
            pg_get_triggerdef(tg.oid, true) AS definition,
            CASE tg.tgenabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'
                WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END AS enabled
        FROM pg_trigger tg
        JOIN pg_class c ON c.oid = tg.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY (%(schemas)s::text[]) AND NOT tg.tgisinternal
          AND {_RELATION_FILTER} AND {_not_member("pg_class", "c.oid")}
        """,
    "rules": """
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.'
                || quote_ident(r.rulename) AS key,
            pg_get_ruledef(r.oid, true) AS definition,
            CASE r.ev_enabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'
                WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END AS enabled
        FROM pg_rewrite r
        JOIN pg_class c ON c.oid = r.ev_class
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY (%(schemas)s::text[]) AND r.rulename <> '_RETURN'
        """,
    "policies": """
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.'
                || quote_ident(po.polname) AS key,
            CASE po.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                WHEN 'd' THEN 'DELETE' WHEN '*' THEN 'ALL' END AS command,
            po.polpermissive AS permissive,
            (SELECT array_agg(role ORDER BY role) FROM (
                SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END AS role
                FROM unnest(po.polroles) r) roles) AS roles,
            pg_get_expr(po.polqual, po.polrelid) AS using,
            pg_get_expr(po.polwithcheck, po.polrelid) AS with_check
        FROM pg_policy po
        JOIN pg_class c ON c.oid = po.polrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY (%(schemas)s::text[])
        """,
    "event_triggers": f"""
        SELECT quote_ident(e.evtname) AS key, e.evtevent AS event,
            e.evtfoid::regproc::text AS function,
            (SELECT array_agg(tag ORDER BY tag) FROM unnest(e.evttags) tag) AS tags,
            CASE e.evtenabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'
                WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END AS enabled
        FROM pg_event_trigger e WHERE {_not_member("pg_event_trigger", "e.oid")}
        """,
    "default_privileges": """
        SELECT pg_get_userbyid(d.defaclrole) || ' in '
                || coalesce(quote_ident(n.nspname), 'every schema') || ' on '
                || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                   WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas'
                   ELSE d.defaclobjtype::text END AS key,
            (SELECT array_agg(entry ORDER BY entry) FROM (
                SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
                       || ' ' || a.privilege_type
                       || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS entry
                FROM aclexplode(d.defaclacl) a) entries) AS acl
        FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
        WHERE n.oid IS NULL OR n.nspname = ANY (%(schemas)s::text[])
        """,
    "comments": """
        SELECT CASE WHEN o.type LIKE '%% column' THEN 'column' ELSE o.type END
                || ' ' || o.identity AS key,
            d.description AS text
        FROM pg_description d
        CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
        WHERE d.objoid >= 16384  -- FirstNormalObjectId: built-in objects are below
          AND (o.schema = ANY (%(schemas)s::text[])
               OR (o.schema IS NULL AND o.type NOT IN ('schema', 'database', 'role',
                   'tablespace', 'language', 'access method', 'extension'))
               OR (o.type = 'schema' AND o.identity = ANY (%(schemas)s::text[])))
          AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = d.classoid
                          AND dep.objid = d.objoid AND dep.deptype = 'e')
          AND NOT (d.classoid = 'pg_class'::regclass
                   AND (SELECT c.relname FROM pg_class c WHERE c.oid = d.objoid)
                       = ANY (%(ignored_tables)s::text[]))
        """,
}
