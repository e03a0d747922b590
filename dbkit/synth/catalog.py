"""What the catalog says about the tables ``dbkit synth`` fills.

One query per kind of object (tables and columns, constraints, unique indexes), turned into
:class:`Table` objects: columns with their type, nullability and enum labels; the primary key,
unique keys, foreign keys; and CHECK constraints parsed (with pglast) into what a generator can
honour: a range per column (``x BETWEEN 0 AND 100``, ``x >= 0``), a set of allowed values
(``x IN (...)``) or an order between two columns (``end_date >= start_date``). A CHECK of any
other shape is kept as :attr:`Table.opaque_checks`; the generator satisfies it with NULLs where
the columns allow them and refuses it otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

ZERO_INTERVAL = object()  # the constant interval '0' in a CHECK
SKIP_SCHEMAS = ("pg_catalog", "information_schema", "dbkit", "pg_toast")


@dataclass
class Column:
    name: str
    type_name: str  # format_type(): "character varying(255)", "numeric(15,2)", "user_role"
    base: str  # the base type's name: varchar, numeric, int4, uuid, an enum's name
    category: str  # pg_type.typcategory: N numeric, S string, D date/time, B bool, E enum, ...
    not_null: bool
    has_default: bool
    generated: bool  # a generated column or GENERATED ALWAYS identity: COPY cannot set it
    identity: bool
    length: int | None  # varchar(n) / char(n)
    precision: int | None  # numeric(p, s)
    scale: int | None
    enum_labels: list[str] = field(default_factory=list)
    is_array: bool = False
    # what CHECK constraints say about this column
    low: Decimal | None = None
    high: Decimal | None = None
    low_open: bool = False
    high_open: bool = False
    allowed: list[Any] | None = None


@dataclass
class ForeignKey:
    name: str
    columns: list[str]
    ref_table: str  # qualified display name of the referenced table
    ref_columns: list[str]
    deferrable: bool


@dataclass
class Table:
    schema: str
    name: str
    columns: dict[str, Column]
    primary_key: list[str] = field(default_factory=list)
    unique_keys: list[list[str]] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    orders: list[tuple[str, str, str]] = field(default_factory=list)  # (low, op, high)
    opaque_checks: list[tuple[str, str, list[str]]] = field(default_factory=list)
    estimated_rows: int = 0

    @property
    def qualified(self) -> str:
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"


_TABLES = """
SELECT n.nspname, c.relname, c.oid, greatest(c.reltuples, 0)::bigint
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname <> ALL (%s) AND n.nspname NOT LIKE 'pg_temp%%'
  AND NOT (n.nspname = coalesce(%s, current_schema()) AND c.relname = 'alembic_version')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""

_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod),
       coalesce(elem.typname, t.typname), coalesce(elem.typcategory, t.typcategory),
       a.attnotnull, a.atthasdef, a.attgenerated <> '' OR a.attidentity = 'a',
       a.attidentity <> '', a.atttypmod, t.typcategory = 'A',
       (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum AS e
        WHERE e.enumtypid = coalesce(elem.oid, t.oid))
FROM pg_catalog.pg_attribute AS a
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type AS elem ON elem.oid = t.typelem AND t.typcategory = 'A'
WHERE a.attrelid = ANY (%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

_CONSTRAINTS = """
SELECT con.conrelid, con.conname, con.contype,
       ARRAY(SELECT att.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(num, ord)
             JOIN pg_catalog.pg_attribute AS att
               ON att.attrelid = con.conrelid AND att.attnum = k.num ORDER BY k.ord),
       con.confrelid::regclass::text,
       ARRAY(SELECT att.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
             JOIN pg_catalog.pg_attribute AS att
               ON att.attrelid = con.confrelid AND att.attnum = k.num ORDER BY k.ord),
       con.condeferrable, pg_get_constraintdef(con.oid)
FROM pg_catalog.pg_constraint AS con
WHERE con.conrelid = ANY (%s) AND con.contype IN ('p', 'u', 'f', 'c')
ORDER BY con.conrelid, con.conname
"""

# Unique indexes that are not constraints (``CREATE UNIQUE INDEX``): plain columns only; a
# partial unique index is treated as unique everywhere (stricter, still satisfied).
_UNIQUE_INDEXES = """
SELECT i.indrelid,
       ARRAY(SELECT att.attname FROM unnest(i.indkey) WITH ORDINALITY AS k(num, ord)
             JOIN pg_catalog.pg_attribute AS att
               ON att.attrelid = i.indrelid AND att.attnum = k.num ORDER BY k.ord)
FROM pg_catalog.pg_index AS i
WHERE i.indrelid = ANY (%s) AND i.indisunique AND NOT i.indisprimary
  AND 0 <> ALL (i.indkey::int2[])
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS con WHERE con.conindid = i.indexrelid)
"""


def read_tables(conn: psycopg.Connection) -> dict[str, Table]:
    """Every user table of the database, by qualified name (``users``, ``crm.leads``)."""
    # the connection's alembic_version (schema settled at connect) is bookkeeping, not data
    version_schema = getattr(conn, "version_schema", None)
    rows = conn.execute(_TABLES, (list(SKIP_SCHEMAS), version_schema)).fetchall()
    by_oid: dict[int, Table] = {}
    for schema, name, oid, estimate in rows:
        by_oid[oid] = Table(schema, name, {}, estimated_rows=int(estimate))
    oids = list(by_oid)
    if not oids:
        return {}
    for row in conn.execute(_COLUMNS, (oids,)).fetchall():
        (rel, name, type_name, base, category, not_null, has_default, generated, identity) = row[:9]
        typmod, is_array, labels = row[9], row[10], row[11]
        length = precision = scale = None
        if base in ("varchar", "bpchar") and typmod > 4:
            length = typmod - 4
        if base == "numeric" and typmod > 4:
            precision = ((typmod - 4) >> 16) & 0xFFFF
            scale = (typmod - 4) & 0xFFFF
        by_oid[rel].columns[name] = Column(
            name,
            type_name,
            base,
            category,
            bool(not_null),
            bool(has_default),
            bool(generated),
            bool(identity),
            length,
            precision,
            scale,
            list(labels or []),
            bool(is_array),
        )
    for rel, name, kind, columns, ref, ref_columns, deferrable, definition in conn.execute(
        _CONSTRAINTS, (oids,)
    ).fetchall():
        table = by_oid[rel]
        if kind == "p":
            table.primary_key = list(columns)
        elif kind == "u":
            table.unique_keys.append(list(columns))
        elif kind == "f":
            table.foreign_keys.append(
                ForeignKey(name, list(columns), _display(ref), list(ref_columns), deferrable)
            )
        else:
            _apply_check(table, name, definition)
    for rel, columns in conn.execute(_UNIQUE_INDEXES, (oids,)).fetchall():
        key = list(columns)
        if key and key not in by_oid[rel].unique_keys:
            by_oid[rel].unique_keys.append(key)
    return {t.qualified: t for t in by_oid.values()}


def _display(regclass_text: str) -> str:
    """``public.users`` or ``users`` (regclass text depends on search_path) -> ``users``."""
    name = regclass_text.replace('"', "")
    return name[len("public.") :] if name.startswith("public.") else name


# -- CHECK constraints ------------------------------------------------------------------------


def _apply_check(table: Table, name: str, definition: str) -> None:
    """Fold one CHECK into the table's column ranges, value sets and orders, or keep it opaque."""
    expression = definition
    if expression.upper().startswith("CHECK "):
        expression = expression[6:]
    if expression.endswith(" NOT VALID"):
        expression = expression[: -len(" NOT VALID")]
    facts = _parse_check(expression)
    if facts is None or not all(_known(table, fact) for fact in facts):
        table.opaque_checks.append((name, definition, _columns_in(expression, table)))
        return
    for fact in facts:
        # `interval_column > interval '0'`: the interval generator makes 1 to 365 days
        if (
            fact[0] == "cmp"
            and fact[3] is ZERO_INTERVAL
            and (table.columns[fact[1]].base != "interval" or fact[2] not in (">", ">="))
        ):
            table.opaque_checks.append((name, definition, _columns_in(expression, table)))
            return
    for fact in facts:
        kind = fact[0]
        if kind == "cmp" and fact[3] is ZERO_INTERVAL:
            continue
        if kind == "cmp":
            _, column, op, value = fact
            _narrow(table.columns[column], op, value)
        elif kind == "in":
            _, column, values = fact
            col = table.columns[column]
            col.allowed = values if col.allowed is None else [v for v in col.allowed if v in values]
        else:
            _, low, op, high = fact
            table.orders.append((low, op, high))


def _known(table: Table, fact: tuple) -> bool:
    if fact[0] == "order":
        return fact[1] in table.columns and fact[3] in table.columns
    return fact[1] in table.columns


def _narrow(column: Column, op: str, value: Decimal) -> None:
    if op in (">=", ">"):
        if column.low is None or value > column.low or (value == column.low and op == ">"):
            column.low, column.low_open = value, op == ">"
    elif op in ("<=", "<"):
        if column.high is None or value < column.high or (value == column.high and op == "<"):
            column.high, column.high_open = value, op == "<"
    elif op == "=":
        column.allowed = [value] if column.allowed is None else column.allowed


_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "=": "="}


def _parse_check(expression: str) -> list[tuple] | None:
    """The facts of a CHECK expression made of ANDed comparisons, or None for any other shape."""
    try:
        from pglast import ast as pg_ast
        from pglast import parse_sql
    except ImportError:  # pragma: no cover - pglast is a dependency
        return None
    try:
        stmt = parse_sql(f"SELECT {expression}")[0].stmt
    except Exception:
        return None
    node = stmt.targetList[0].val
    facts: list[tuple] = []

    def walk(n) -> bool:
        if isinstance(n, pg_ast.BoolExpr):
            if n.boolop.name != "AND_EXPR":
                return False
            return all(walk(arg) for arg in n.args)
        if isinstance(n, pg_ast.A_Expr):
            kind = n.kind.name
            op = n.name[-1].sval if n.name else None
            if kind == "AEXPR_BETWEEN":
                column = _column_name(n.lexpr)
                low, high = (_constant(x) for x in n.rexpr)
                if column is None or low is None or high is None:
                    return False
                facts.append(("cmp", column, ">=", low))
                facts.append(("cmp", column, "<=", high))
                return True
            if kind == "AEXPR_IN" and op == "=":
                column = _column_name(n.lexpr)
                values = [_constant(x, text=True) for x in n.rexpr]
                if column is None or any(v is None for v in values):
                    return False
                facts.append(("in", column, values))
                return True
            if kind == "AEXPR_OP" and op == "=" and isinstance(n.rexpr, pg_ast.A_ArrayExpr):
                return False
            if kind == "AEXPR_OP_ANY" and op == "=":
                column = _column_name(n.lexpr)
                values = _array_values(n.rexpr)
                if column is None or values is None:
                    return False
                facts.append(("in", column, values))
                return True
            if kind == "AEXPR_OP" and op in _FLIP:
                left, right = _column_name(n.lexpr), _column_name(n.rexpr)
                if left and right and op != "=":
                    if op in ("<=", "<"):
                        facts.append(("order", left, op, right))
                    else:
                        facts.append(("order", right, _FLIP[op], left))
                    return True
                if left and (value := _constant(n.rexpr)) is not None:
                    facts.append(("cmp", left, op, value))
                    return True
                if right and (value := _constant(n.lexpr)) is not None:
                    facts.append(("cmp", right, _FLIP[op], value))
                    return True
            return False
        return False

    return facts if walk(node) else None


def _column_name(node) -> str | None:
    from pglast import ast as pg_ast

    while isinstance(node, pg_ast.TypeCast):
        node = node.arg
    if isinstance(node, pg_ast.ColumnRef) and len(node.fields) == 1:
        field_ = node.fields[0]
        return getattr(field_, "sval", None)
    return None


def _constant(node, *, text: bool = False):
    from pglast import ast as pg_ast

    cast = None
    while isinstance(node, pg_ast.TypeCast):
        cast = node.typeName.names[-1].sval
        node = node.arg
    negative = False
    if (
        isinstance(node, pg_ast.A_Expr)
        and node.kind.name == "AEXPR_OP"
        and node.lexpr is None
        and node.name[-1].sval == "-"
    ):
        negative, node = True, node.rexpr
    if not isinstance(node, pg_ast.A_Const) or node.isnull:
        return None
    value = node.val
    if isinstance(value, pg_ast.Integer):
        number = Decimal(value.ival)
    elif isinstance(value, pg_ast.Float):
        number = Decimal(value.fval)
    elif isinstance(value, pg_ast.String):
        if text or cast in ("text", "varchar", "bpchar", None):
            return value.sval if text else _maybe_number(value.sval)
        if cast == "interval" and value.sval.strip() in ("0", "00:00:00", "0 days", "@ 0"):
            return ZERO_INTERVAL
        return None  # a date literal or another interval: not a range a generator reads
    else:
        return None
    return -number if negative else number


def _maybe_number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except Exception:
        return None


def _array_values(node) -> list | None:
    from pglast import ast as pg_ast

    while isinstance(node, pg_ast.TypeCast):
        node = node.arg
    if not isinstance(node, pg_ast.A_ArrayExpr):
        return None
    values = [_constant(x, text=True) for x in node.elements or []]
    return None if any(v is None for v in values) else values


def _columns_in(expression: str, table: Table) -> list[str]:
    """The table's columns an opaque CHECK mentions (by name; good enough to NULL them)."""
    import re

    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression))
    return [name for name in table.columns if name in words]
