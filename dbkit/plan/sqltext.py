"""SQL text as statements with their line numbers, parsed by pglast (PostgreSQL's own parser).

Splitting lets dbkit name the exact file and line of a failing statement, run a
non-transactional migration statement by statement, and recognise ``CREATE INDEX
CONCURRENTLY`` to clean up the invalid index a failed build leaves behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from dbkit.plan.literals import identifier, literal


@dataclass(frozen=True)
class Statement:
    """One top-level statement of a SQL file."""

    text: str
    line: int  # 1-based line of the statement's first character in its file
    offset: int  # 0-based character offset in its file

    def line_at(self, position: int | None) -> int:
        """File line of a 1-based character position inside this statement (server's
        ``statement_position``)."""
        if not position:
            return self.line
        return self.line + self.text.count("\n", 0, max(position - 1, 0))

    @cached_property
    def summary(self) -> str:
        """The statement's first line, shortened, for progress and error messages."""
        first = " ".join(self.text.split())
        return first if len(first) <= 72 else first[:69] + "..."

    @cached_property
    def concurrent_index(self) -> tuple[str | None, str] | None:
        """``(schema, index)`` if this is ``CREATE INDEX CONCURRENTLY name ...``."""
        node = _parse_one(self.text)
        if node is None or type(node).__name__ != "IndexStmt" or not node.concurrent:
            return None
        if not node.idxname:
            return None
        schema = node.relation.schemaname if node.relation is not None else None
        return schema, node.idxname

    @cached_property
    def relations(self) -> list[str]:
        """Tables and other relations the statement names (for naming a lock holder)."""
        node = _parse_one(self.text)
        if node is None:
            return []
        names: list[str] = []
        if type(node).__name__ == "DropStmt":
            for obj in node.objects or ():
                parts = obj if isinstance(obj, tuple | list) else (obj,)
                name = ".".join(getattr(p, "sval", "") for p in parts if hasattr(p, "sval"))
                if name and name not in names:
                    names.append(name)
        ctes = {found.ctename for found in _walk(node) if type(found).__name__ == "CommonTableExpr"}
        for found in _walk(node):
            if type(found).__name__ == "RangeVar" and found.relname:
                if not found.schemaname and found.relname in ctes:
                    continue  # a WITH query's name, not a relation
                name = f"{found.schemaname}.{found.relname}" if found.schemaname else found.relname
                if name not in names:
                    names.append(name)
        return names


def split(sql: str) -> list[Statement]:
    """Top-level statements of ``sql``, empty ones and pure comments dropped.

    Uses the parser so that ``BEGIN ATOMIC ... END`` bodies and dollar quotes split correctly.
    Text the parser rejects comes back whole, as one statement: the server then reports the
    syntax error itself with its position (pglast's scanner-only split is not used because it
    silently drops text it cannot tokenise).

    Linear in the length of ``sql``: the text is parsed in chunks (see :func:`_parsed_chunks`),
    and line numbers are counted from one statement to the next.
    """
    import pglast

    def slices(chunk: str):
        return pglast.split(chunk, with_parser=True, only_slices=True)

    statements: list[Statement] = []
    line, counted_to = 1, 0
    try:
        for base, chunk, pieces in _parsed_chunks(sql, slices):
            for piece in pieces:
                text = chunk[piece]
                if not text.strip():
                    continue
                offset = base + piece.start
                line += sql.count("\n", counted_to, offset)
                counted_to = offset
                statements.append(Statement(text=text, line=line, offset=offset))
    except pglast.parser.ParseError:
        return [Statement(text=sql, line=1, offset=0)] if sql.strip() else []
    return statements


def statement_facts(sql: str) -> list[list[Any]]:
    """:func:`split` with what the runner asks of each statement, as JSON-able values:
    ``[offset, length, line, concurrent_index, relations]`` per statement (parsed here, once:
    a cache keeps them by the SQL's content, see :func:`from_facts`)."""
    return [
        [
            s.offset,
            len(s.text),
            s.line,
            list(s.concurrent_index) if s.concurrent_index is not None else None,
            s.relations,
        ]
        for s in split(sql)
    ]


def from_facts(sql: str, facts: list[list[Any]]) -> list[Statement]:
    """The statements :func:`statement_facts` described, without a parser: each one's
    ``concurrent_index`` and ``relations`` are set from the facts (``sql`` is the same text)."""
    statements = []
    for offset, length, line, index, relations in facts:
        statement = Statement(text=sql[offset : offset + length], line=line, offset=offset)
        # cached_property values live in the instance's __dict__ (frozen or not)
        statement.__dict__["concurrent_index"] = tuple(index) if index is not None else None
        statement.__dict__["relations"] = list(relations)
        statements.append(statement)
    return statements


#: Size of the first try at a chunk of SQL parsed in one go (see :func:`_parsed_chunks`): small
#: enough that pglast's per-call costs that grow faster than the text (converting byte offsets
#: of text that is not ASCII) stay small, large enough that calls are few.
CHUNK = 16_384
# a statement's end at a line's end: where a chunk may stop
_CHUNK_END = re.compile(r";[ \t]*(?:--[^\n]*)?\r?\n")


def _parsed_chunks(sql: str, parse):
    """``(offset, chunk, parse(chunk))`` for consecutive chunks of ``sql`` that each parse.

    A chunk ends at a semicolon that ends a line, after at least :data:`CHUNK` characters. A cut
    that is not a statement's real end (inside a string, a comment, a dollar-quoted or a
    ``BEGIN ATOMIC`` body) leaves the chunk unterminated, so the parser rejects it; the chunk
    is then tried to the next few such semicolons, then twice as long. A chunk that parses
    therefore ends where a statement does, and the next one starts at a statement's start.
    The doubling keeps the work linear even for a real syntax error, which raises the parser's
    error once the chunk reaches the end of the text.
    """
    from pglast.parser import ParseError

    position, size = 0, CHUNK
    while position < len(sql):
        ends = []
        if position + size < len(sql):
            for cut in _CHUNK_END.finditer(sql, position + size):
                ends.append(cut.end())
                if len(ends) == _TRIES:
                    break
        if len(ends) < _TRIES:
            ends.append(len(sql))
        for end in ends:
            chunk = sql[position:end]
            try:
                result = parse(chunk)
            except ParseError:
                if end == len(sql):
                    raise
                continue
            yield position, chunk, result
            position, size = end, CHUNK
            break
        else:
            size *= 2


# how many successive line-ending semicolons a chunk is tried to before it doubles
_TRIES = 3


# Words of every statement that can remove or rewrite rows, directly or by running code
# (INSERT fires triggers, SELECT calls functions). Text holding none of them, comments and
# bodies included, cannot lose a row.
_ROW_CHANGING_WORDS = re.compile(
    r"\b(delete|truncate|drop|alter|update|merge|insert|do|call|select|execute|copy|cluster|"
    r"vacuum|refresh|perform|rename|replace)\b",
    re.IGNORECASE,
)
# Statements that only create or describe objects: they cannot remove a row.
_CREATES_ONLY = frozenset(
    {
        "CreateStmt",
        "IndexStmt",
        "ViewStmt",
        "CreateFunctionStmt",
        "CreateTrigStmt",
        "CreateEnumStmt",
        "CompositeTypeStmt",
        "CreateSeqStmt",
        "CommentStmt",
        "GrantStmt",
        "CreatePolicyStmt",
        "CreateDomainStmt",
        "CreateSchemaStmt",
        "VariableSetStmt",
        "CreateExtensionStmt",
        "DefineStmt",
        "CreateStatsStmt",
        "AlterEnumStmt",
    }
)
# DROP of these (without CASCADE) cannot remove a row: the objects hold none.
_HOLDS_NO_ROWS = frozenset(
    {
        "OBJECT_INDEX",
        "OBJECT_VIEW",
        "OBJECT_MATVIEW",
        "OBJECT_TRIGGER",
        "OBJECT_FUNCTION",
        "OBJECT_PROCEDURE",
        "OBJECT_SEQUENCE",
        "OBJECT_POLICY",
        "OBJECT_STATISTIC_EXT",
    }
)
# ALTER TABLE actions that keep every row (no DROP COLUMN, no type change).
_KEEPS_ROWS = frozenset(
    {
        "AT_AddColumn",
        "AT_AddConstraint",
        "AT_AddIdentity",
        "AT_AddIndex",
        "AT_AddIndexConstraint",
        "AT_ColumnDefault",
        "AT_CookedColumnDefault",
        "AT_SetNotNull",
        "AT_DropNotNull",
        "AT_ValidateConstraint",
        "AT_AlterConstraint",
        "AT_DropConstraint",
        "AT_EnableRowSecurity",
        "AT_DisableRowSecurity",
        "AT_ForceRowSecurity",
        "AT_NoForceRowSecurity",
        "AT_EnableTrig",
        "AT_EnableTrigAll",
        "AT_EnableTrigUser",
        "AT_EnableAlwaysTrig",
        "AT_EnableReplicaTrig",
        "AT_DisableTrig",
        "AT_DisableTrigAll",
        "AT_DisableTrigUser",
        "AT_ReplicaIdentity",
        "AT_SetStatistics",
        "AT_SetStorage",
        "AT_ChangeOwner",
        "AT_SetRelOptions",
        "AT_ResetRelOptions",
        "AT_SetIdentity",
        "AT_DropIdentity",
    }
)


def could_remove_rows(sql: str) -> bool:
    """Conservative: False only when no statement of ``sql`` can delete, rewrite or drop data.

    A quick word scan settles most files; otherwise each statement is classified by the
    parser: creating objects, and ALTER TABLE actions that keep every row, are harmless;
    anything else (DML, DROP, DO, CALL, SELECT, RENAME, text that does not parse) may not be.
    The text is parsed chunk by chunk, and the first statement that may remove rows ends the
    scan: linear in the text, with memory bounded by a chunk's parse tree.
    """
    if not _ROW_CHANGING_WORDS.search(sql):
        return False
    import json

    from pglast.parser import ParseError, parse_sql_json

    try:
        for _, _, parsed in _parsed_chunks(sql, parse_sql_json):
            # JSON is far cheaper than building pglast nodes
            if any(_may_remove_rows(raw) for raw in json.loads(parsed).get("stmts", [])):
                return True
    except ParseError:
        return True
    return False


def _may_remove_rows(raw: dict) -> bool:
    ((kind, node),) = raw["stmt"].items()
    if kind in _CREATES_ONLY:
        return False
    if kind == "DropStmt":
        # an index, view, trigger, function or sequence holds no rows; CASCADE could reach
        # a table's column or the table itself
        return node.get("removeType") not in _HOLDS_NO_ROWS or node.get("behavior") == (
            "DROP_CASCADE"
        )
    if kind != "AlterTableStmt":
        return True
    return not all(
        cmd.get("AlterTableCmd", {}).get("subtype") in _KEEPS_ROWS
        and not _runs_code_over_rows(cmd.get("AlterTableCmd", {}))
        for cmd in node["cmds"]
    )


def _runs_code_over_rows(cmd: dict) -> bool:
    """Whether an ALTER TABLE action that keeps every row runs code over the existing ones: a
    default or check that calls a function, a check or exclusion constraint checked against
    the rows (its operators may be the user's), a column of a type that may be a domain (its
    default and checks), a constraint validated (its expression is in the catalog)."""
    import json

    subtype = cmd.get("subtype")
    if subtype in ("AT_ValidateConstraint", "AT_AlterConstraint"):
        return True
    if subtype not in ("AT_AddColumn", "AT_AddConstraint"):
        return False
    definition = cmd.get("def", {})
    text = json.dumps(definition)
    if '"FuncCall"' in text:
        return True
    constraints = [definition.get("Constraint", {})] + [
        c.get("Constraint", {}) for c in definition.get("ColumnDef", {}).get("constraints", [])
    ]
    if any(
        c.get("contype") in ("CONSTR_CHECK", "CONSTR_EXCLUSION") and not c.get("skip_validation")
        for c in constraints
    ):
        return True  # evaluated over the existing rows: its operators may be the user's
    names = definition.get("ColumnDef", {}).get("typeName", {}).get("names")
    if names:
        parts = [n.get("String", {}).get("sval", "") for n in names]
        return not (parts[0] == "pg_catalog" or len(parts) == 1 and parts[0] in _BUILT_IN_TYPES)
    return False


# Types the grammar does not qualify with pg_catalog that are PostgreSQL's own (a column of
# any other unqualified type may be a domain, whose default and checks run on ADD COLUMN).
_BUILT_IN_TYPES = frozenset(
    {
        "text",
        "uuid",
        "json",
        "jsonb",
        "date",
        "timestamptz",
        "timetz",
        "bytea",
        "inet",
        "cidr",
        "macaddr",
        "money",
        "tsvector",
        "tsquery",
        "xml",
        "oid",
        "regclass",
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "bool",
        "serial",
        "bigserial",
        "smallserial",
    }
)


def _parse_one(text: str):  # -> pglast node or None
    import pglast

    try:
        parsed = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return None
    if len(parsed) != 1:
        return None
    return parsed[0].stmt


def _walk(node):
    """Every pglast node under ``node`` (depth first)."""
    from pglast import ast as pg_ast

    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple | list):
            stack.extend(current)
            continue
        if not isinstance(current, pg_ast.Node):
            continue
        yield current
        for attr in current:
            stack.append(getattr(current, attr))


# -- which tables SQL can write (the phase snapshot's rule, dbkit.engine.preserve.writable) ---

# Statements that change nothing by themselves (what they contain is still walked: a SELECT's
# function calls, a rule's actions, an index's expressions).
_WRITES_NOTHING = _CREATES_ONLY | {
    "SelectStmt",
    "TransactionStmt",
    "VariableShowStmt",
    "LockStmt",
    "NotifyStmt",
    "ListenStmt",
    "UnlistenStmt",
    "AlterSeqStmt",
    "AlterFunctionStmt",
    "AlterOwnerStmt",
    "AlterDomainStmt",
    "CreateRoleStmt",
    "AlterRoleStmt",
    "GrantRoleStmt",
    "AlterDefaultPrivilegesStmt",
    "CreateCastStmt",
    "ReindexStmt",
    "ClusterStmt",
    "VacuumStmt",
    "CheckPointStmt",
    "DiscardStmt",
    "CreateTableAsStmt",
    "ExplainStmt",
    "RuleStmt",
    "AlterTableSpaceOptionsStmt",
    "AlterCollationStmt",
    "AlterStatsStmt",
    "CreateConversionStmt",
    "AlterExtensionStmt",
    "SecLabelStmt",
    "PrepareStmt",
    "DeallocateStmt",
    "DeclareCursorStmt",
    "ClosePortalStmt",
    "FetchStmt",
    "ExecuteStmt",  # a prepared statement of the same file, walked where it is prepared
}
# A DROP .. CASCADE of these removes no row and no column (only indexes, triggers, policies).
_CASCADE_HOLDS_NO_ROWS = frozenset(
    {"OBJECT_INDEX", "OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_STATISTIC_EXT", "OBJECT_RULE"}
)
# Renames that change no table's name or column (a table renamed disappears under its name).
_RENAME_KEEPS_TABLES = frozenset(
    {
        "OBJECT_INDEX",
        "OBJECT_FUNCTION",
        "OBJECT_PROCEDURE",
        "OBJECT_ROUTINE",
        "OBJECT_TRIGGER",
        "OBJECT_TABCONSTRAINT",
        "OBJECT_DOMCONSTRAINT",
        "OBJECT_POLICY",
        "OBJECT_RULE",
        "OBJECT_SEQUENCE",
        "OBJECT_VIEW",
        "OBJECT_MATVIEW",
        "OBJECT_TYPE",
        "OBJECT_DOMAIN",
        "OBJECT_ROLE",
        "OBJECT_STATISTIC_EXT",
    }
)
# Renamed code: called by its new name, it runs the body the catalog keeps under the old one.
_RENAMED_CODE = frozenset(
    {"OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_AGGREGATE"}
)
# PL/pgSQL statements whose SQL is built at run time.
_DYNAMIC = frozenset({"PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"})
# identifiers as PostgreSQL reads them: letters beyond ASCII too (``größe``, ``löschen``)
_IDENT = re.compile(r"[^\W\d][\w$]*")
_CALLED = re.compile(r"(?<![\w$])([^\W\d][\w$]*)\s*\(")
_ASSIGNED = re.compile(r"^\s*[a-z_][a-z0-9_$.\[\]\"]*\s*:?=\s*", re.IGNORECASE)
_DOLLAR_BODY = re.compile(r"\$([a-z_0-9]*)\$(.*)\$\1\$", re.DOTALL | re.IGNORECASE)


def writes(sql: str) -> dict[str, Any]:
    """What the statements of ``sql`` can write, read and run, from pglast's parse tree.

    ``changes``: relations whose existing rows can change or go (UPDATE, DELETE, MERGE,
    TRUNCATE and ``INSERT .. ON CONFLICT DO UPDATE`` targets, writable CTEs included, DROP
    TABLE, ALTER TABLE other than the actions that keep every row, a table renamed or moved);
    ``inserts``: plain INSERT and COPY FROM targets (their triggers run; no row of theirs
    goes); ``reads``: every other relation named (a view's functions run when it is read);
    ``calls``: functions and procedures called; ``truncate_cascade``: tables truncated with
    CASCADE (every referencing table goes too); ``fks``: foreign keys the SQL creates
    ``[child, parent, on_delete, on_update]``; ``functions`` ``[name, language, text]`` and
    ``triggers`` ``[table, function]`` it defines (code that runs later, followed when called
    or when its table is written); ``named``: when part of the SQL could not be bounded by its
    parse (text the parser rejects, PL/pgSQL's dynamic ``EXECUTE``), the words of that text,
    for the name rule (every table it names is written); ``unbounded``: why no set of tables
    bounds it (a ``DROP .. CASCADE`` that can drop columns, ``DROP OWNED``, an event trigger,
    a statement this analysis does not know), else None. Relation names are lower-case, as
    written (``schema.table`` or ``table``). Conservative: anything not understood widens the
    result.
    """
    import json

    from pglast.parser import ParseError, parse_sql_json

    out = no_writes()
    if not sql.strip():
        return out
    try:
        for _, chunk, parsed in _parsed_chunks(sql, parse_sql_json):
            data = chunk.encode("utf-8")
            for raw in json.loads(parsed).get("stmts", []):
                start = raw.get("stmt_location", 0)
                end = start + raw["stmt_len"] if raw.get("stmt_len") else len(data)
                _statement_writes(raw["stmt"], data[start:end].decode("utf-8", "replace"), out)
    except ParseError:
        _name_rule(sql, out)
    return _sorted(out)


def body_writes(language: str, body: str, definition: str | None = None) -> dict[str, Any]:
    """:func:`writes` of a function's body: ``sql`` bodies parsed as SQL, ``plpgsql`` ones by
    pglast's PL/pgSQL parser (``definition``, the whole ``CREATE FUNCTION`` or ``DO``, is what
    it parses; every query and expression of the body is then parsed as SQL). Dynamic SQL
    (``EXECUTE``) built from constants only (a literal, ``format()`` or ``||`` of literals)
    is evaluated and analysed; built from anything else (a variable, a parameter, data) it is
    ``unbounded``. A body or query the parser rejects adds its words to ``named`` (the name
    rule). Any other language: ``unbounded``."""
    language = (language or "").lower()
    if language == "sql" and not body.strip() and definition:
        return _atomic_body(definition)  # BEGIN ATOMIC: the body is part of the statement
    if language == "sql":
        return writes(body)
    if language != "plpgsql":
        out = no_writes()
        out["unbounded"] = f"a function in language {language or '?'} cannot be read"
        return _sorted(out)
    import json

    import pglast
    from pglast.parser import ParseError, parse_sql_json

    out = no_writes()
    try:
        tree = pglast.parse_plpgsql(definition or body)
    except (ParseError, Exception):  # noqa: BLE001 - pglast raises several kinds here
        _name_rule(body, out)
        return _sorted(out)
    queries: list[str] = []
    unparsed = False  # a query the parser rejects
    dynamic: list[str] = []  # the expressions of SQL built at run time
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict) and (
                    key in _DYNAMIC
                    or key in ("PLpgSQL_stmt_open", "PLpgSQL_stmt_return_query")
                    and "dynquery" in value
                ):
                    expr = value.get("query") or value.get("dynquery") or {}
                    dynamic.append(expr.get("PLpgSQL_expr", {}).get("query", ""))
                if key == "PLpgSQL_expr" and isinstance(value, dict) and "query" in value:
                    queries.append(value["query"])
                stack.append(value)
    for query in queries:
        # an assignment's query is "target := expression"
        expression = _ASSIGNED.sub("", query, count=1)
        for text in (query, f"SELECT {expression}"):
            try:
                parsed = json.loads(parse_sql_json(text))
            except ParseError:
                continue
            for raw in parsed.get("stmts", []):
                _statement_writes(raw["stmt"], text, out)
            break
        else:
            unparsed = True
    for expression in dynamic:
        # SQL built at run time is known only when it is built from constants alone
        built = _constant_text(expression)
        if built is None:
            out["unbounded"] = out["unbounded"] or (
                "dynamic SQL (EXECUTE) built from variables: any table may be named"
            )
        else:
            _merge(out, writes(built))
    # calls in the body's text: a superset of what the tree shows
    lowered = body.lower()
    out["calls"] = list(set(out["calls"]) | set(_CALLED.findall(lowered)))
    if unparsed:
        _name_rule(body, out)
    return _sorted(out)


def _constant_text(expression: str) -> str | None:
    """The text a PL/pgSQL expression evaluates to when it is built from string constants
    only (a literal, ``format()`` of literals, ``||`` of those), else None."""
    import json

    from pglast.parser import ParseError, parse_sql_json

    try:
        parsed = json.loads(parse_sql_json(f"SELECT {expression}"))
        ((target,),) = [s["stmt"]["SelectStmt"]["targetList"] for s in parsed["stmts"]]
    except (ParseError, KeyError, ValueError):
        return None
    return _evaluate(target["ResTarget"]["val"])


def _evaluate(node: dict) -> str | None:
    ((kind, value),) = node.items()
    if kind == "A_Const":
        text = value.get("sval", {}).get("sval")
        return text if isinstance(text, str) else None
    if kind == "TypeCast":
        return _evaluate(value["arg"])
    if kind == "A_Expr" and value.get("name") == [{"String": {"sval": "||"}}]:
        left, right = _evaluate(value["lexpr"]), _evaluate(value["rexpr"])
        return None if left is None or right is None else left + right
    if kind == "FuncCall":
        name = _list_name(value.get("funcname", [])).rsplit(".", 1)[-1]
        args = [_evaluate(a) for a in value.get("args", [])]
        if None in args or not args:
            return None
        if name == "concat":
            return "".join(args)  # type: ignore[arg-type]
        if name == "quote_ident":
            return identifier(args[0])  # type: ignore[arg-type]
        if name == "format":
            return _format(args[0], args[1:])  # type: ignore[arg-type]
    return None


_FORMAT = re.compile(r"%(?:(\d+)\$)?(.?)", re.DOTALL)


def _format(template: str, args: list[str]) -> str | None:
    """PostgreSQL's ``format()`` for ``%s``, ``%I``, ``%L``, ``%%`` and ``%n$``."""
    position = 0
    failed = False

    def one(match: re.Match) -> str:
        nonlocal position, failed
        if match.group(2) == "%" and not match.group(1):
            return "%"
        if match.group(2) not in ("s", "I", "L"):
            failed = True  # a width, a flag or a stray %: not evaluated here
            return ""
        index = int(match.group(1)) - 1 if match.group(1) else position
        position = index + 1
        if index >= len(args):
            failed = True
            return ""
        value = args[index]
        if match.group(2) == "I":
            return identifier(value)
        if match.group(2) == "L":
            return literal(value)
        return value

    text = _FORMAT.sub(one, template)
    return None if failed else text


def _atomic_body(definition: str) -> dict[str, Any]:
    """:func:`writes` of a ``BEGIN ATOMIC`` body, walked inside its ``CREATE FUNCTION``."""
    import json

    from pglast.parser import ParseError, parse_sql_json

    out = no_writes()
    try:
        parsed = json.loads(parse_sql_json(definition))
    except ParseError:
        _name_rule(definition, out)
        return _sorted(out)
    for raw in parsed.get("stmts", []):
        ((_, node),) = raw["stmt"].items()
        _walk_writes(node.get("sql_body"), out)
    return _sorted(out)


def no_writes() -> dict[str, Any]:
    """An analysis that writes, reads and runs nothing (what :func:`writes` adds to)."""
    return {
        "changes": [],
        "inserts": [],
        "reads": [],
        "calls": [],
        "truncate_cascade": [],
        "fks": [],
        "functions": [],
        "triggers": [],
        "named": [],
        "unbounded": None,
    }


def _sorted(out: dict[str, Any]) -> dict[str, Any]:
    for key, value in out.items():
        if isinstance(value, list) and key not in ("fks", "functions", "triggers"):
            out[key] = sorted(set(value))
    return out


def _name_rule(text: str, out: dict[str, Any]) -> None:
    """Text the parser cannot bound: every word may name a table it writes or a function."""
    lowered = text.lower()
    out["named"] = list(set(out["named"]) | set(_IDENT.findall(lowered)))
    out["calls"] = list(set(out["calls"]) | set(_CALLED.findall(lowered)))


def _relname(node: dict | None) -> str | None:
    if not node or not node.get("relname"):
        return None
    name = node["relname"].lower()
    return f"{node['schemaname'].lower()}.{name}" if node.get("schemaname") else name


def _list_name(obj: Any) -> str:
    items = obj.get("List", {}).get("items", []) if isinstance(obj, dict) else obj
    return ".".join(i["String"]["sval"].lower() for i in items if "String" in i)


def _statement_writes(stmt: dict, text: str, out: dict[str, Any]) -> None:
    """Add one top-level statement's effects (see :func:`writes`) to ``out``."""
    ((kind, node),) = stmt.items()
    if kind == "DoStmt":
        body = _DOLLAR_BODY.search(text)
        language = "plpgsql"
        for arg in node.get("args", []):
            element = arg.get("DefElem", {})
            if element.get("defname") == "language":
                language = element.get("arg", {}).get("String", {}).get("sval", language)
        _merge(out, body_writes(language, body.group(2) if body else text, text))
        return
    if kind == "CreateFunctionStmt":
        language, source = "sql", ""
        for option in node.get("options", []):
            element = option.get("DefElem", {})
            if element.get("defname") == "language":
                language = element["arg"]["String"]["sval"].lower()
            if element.get("defname") == "as":
                source = _list_name_values(element.get("arg")) or ""
        name = _list_name(node["funcname"]).rsplit(".", 1)[-1]
        out["functions"].append([name, language, source, text])
        return
    if kind == "CreateTrigStmt":
        out["triggers"].append([_relname(node["relation"]), _list_name(node["funcname"])])
        # its WHEN condition runs with the trigger: the functions it calls count as called
        _walk_writes(node.get("whenClause"), out)
        return
    if kind in ("DefineStmt", "CreateCastStmt"):
        # an aggregate, operator, type or cast runs the functions it is built on with no call
        # in the text that uses it (``SELECT agg(x)``, ``a === b``, ``x::t``): every name of
        # its definition counts as called
        out["calls"].extend(_IDENT.findall(text.lower()))
    if kind in _MAINTENANCE:
        # REINDEX, VACUUM/ANALYZE and CLUSTER evaluate the index (and statistics) expressions
        # of what they name: its code is followed as for a written table (a function
        # declared IMMUTABLE can still call one that writes); without a name they reach
        # every table
        names = [_relname(node.get("relation"))]
        names += [
            _relname(r.get("VacuumRelation", {}).get("relation")) for r in node.get("rels", [])
        ]
        if not any(names):
            out["unbounded"] = out["unbounded"] or f"{kind[:-4].upper()} without a table"
            return
        out["inserts"].extend(n for n in names if n)
    if kind == "AlterEnumStmt" and node.get("oldVal"):
        # every row holding the value now reads differently, in whichever table uses the type
        out["unbounded"] = out["unbounded"] or "ALTER TYPE .. RENAME VALUE"
        return
    if kind == "CreateEventTrigStmt" or kind == "DropOwnedStmt" or kind == "ReassignOwnedStmt":
        out["unbounded"] = out["unbounded"] or f"{kind} can reach every table"
        return
    if kind not in _WRITES_NOTHING and kind not in _WALKED:
        out["unbounded"] = out["unbounded"] or f"{kind} is not analysed"
        return
    _walk_writes(stmt, out)


def _list_name_values(arg: Any) -> str | None:
    if not isinstance(arg, dict):
        return None
    items = arg.get("List", {}).get("items", [])
    return items[0]["String"]["sval"] if items and "String" in items[0] else None


# Maintenance statements that evaluate index and statistics expressions.
_MAINTENANCE = frozenset({"ReindexStmt", "VacuumStmt", "ClusterStmt"})

# Statements whose effects _walk_writes records (besides _WRITES_NOTHING).
_WALKED = frozenset(
    {
        "InsertStmt",
        "UpdateStmt",
        "DeleteStmt",
        "MergeStmt",
        "TruncateStmt",
        "DropStmt",
        "AlterTableStmt",
        "RenameStmt",
        "AlterObjectSchemaStmt",
        "CopyStmt",
        "CallStmt",
        "RefreshMatViewStmt",
    }
)


def _walk_writes(tree: Any, out: dict[str, Any]) -> None:
    """Every write, read, call and foreign key of a parse tree (nested statements included)."""
    stack: list[tuple[Any, str | None]] = [(tree, None)]  # (node, the table being defined)
    while stack:
        node, table = stack.pop()
        if isinstance(node, list):
            stack.extend((n, table) for n in node)
            continue
        if not isinstance(node, dict):
            continue
        for kind, value in node.items():
            if not isinstance(value, dict | list):
                continue
            if isinstance(value, dict):
                table = _effects(kind, value, out) or table
                if kind == "Constraint" and value.get("contype") == "CONSTR_FOREIGN":
                    parent = _relname(value.get("pktable"))
                    out["fks"].append(
                        [
                            table,
                            parent,
                            value.get("fk_del_action", "a"),
                            value.get("fk_upd_action", "a"),
                        ]
                    )
                if kind in ("CreateFunctionStmt", "CreateTrigStmt"):
                    continue  # code defined, not run (followed when called)
                if "relname" in value and kind not in _NOT_A_READ:
                    out["reads"].append(_relname(value))
            stack.append((value, table))


# Keys whose relation is written (recorded by _effects), not only read.
_NOT_A_READ = frozenset({"relation"})


def _effects(kind: str, node: dict, out: dict[str, Any]) -> str | None:
    """Record what one node does; returns the table it defines or alters (for its FKs)."""
    target = _relname(node.get("relation")) if isinstance(node.get("relation"), dict) else None
    if kind in ("UpdateStmt", "DeleteStmt", "MergeStmt"):
        out["changes"].append(target)
    elif kind == "InsertStmt":
        conflict = node.get("onConflictClause") or {}
        key = "changes" if conflict.get("action") == "ONCONFLICT_UPDATE" else "inserts"
        out[key].append(target)
    elif kind == "CopyStmt":
        if node.get("is_program"):
            # a shell command run by the server can connect back and change anything
            out["unbounded"] = out["unbounded"] or "COPY .. PROGRAM"
        if target and node.get("is_from"):
            out["inserts"].append(target)
        elif target:
            out["reads"].append(target)
    elif kind == "TruncateStmt":
        names = [_relname(r.get("RangeVar")) for r in node.get("relations", [])]
        out["changes"].extend(n for n in names if n)
        if node.get("behavior") == "DROP_CASCADE":
            out["truncate_cascade"].extend(n for n in names if n)
    elif kind == "DropStmt":
        kind_dropped = node.get("removeType")
        if kind_dropped in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
            out["changes"].extend(_list_name(o) for o in node.get("objects", []))
        if node.get("behavior") == "DROP_CASCADE" and kind_dropped not in _CASCADE_HOLDS_NO_ROWS:
            out["unbounded"] = out["unbounded"] or f"DROP {kind_dropped[7:]} .. CASCADE"
        if kind_dropped == "OBJECT_EXTENSION" and not out["unbounded"]:
            out["unbounded"] = f"DROP {kind_dropped[7:]}"
    elif kind == "AlterTableStmt":
        if target and node.get("objtype", "OBJECT_TABLE") == "OBJECT_TABLE":
            # even an action that keeps every row runs the table's code: VALIDATE CONSTRAINT
            # evaluates its checks, a rewrite its index expressions
            out["inserts"].append(target)
        keeps = all(
            cmd.get("AlterTableCmd", {}).get("subtype") in _KEEPS_ROWS for cmd in node["cmds"]
        )
        if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
            if not keeps and node.get("objtype") == "OBJECT_TYPE":
                out["unbounded"] = out["unbounded"] or "ALTER TYPE of a composite type"
        elif not keeps:
            out["changes"].append(target)
        return target
    elif kind == "CreateStmt":
        return target
    elif kind == "RenameStmt":
        renamed = node.get("renameType")
        if target and renamed not in _RENAME_KEEPS_TABLES:
            out["changes"].append(target)
        elif target and renamed in ("OBJECT_VIEW", "OBJECT_MATVIEW"):
            # written or refreshed under its new name, the view still writes its base tables
            # and runs its functions: the old name (what the catalog knows) stands for it
            out["changes"].append(target)
        elif target and renamed == "OBJECT_INDEX":
            out["inserts"].append(target)  # REINDEX under the new name runs its expressions
        elif renamed in _RENAMED_CODE:
            # called under its new name, the catalog's body (under the old one) runs
            old = node.get("object", {}).get("ObjectWithArgs", {}).get("objname", [])
            out["calls"].append(_list_name(old).rsplit(".", 1)[-1])
        elif renamed == "OBJECT_SCHEMA":
            out["unbounded"] = out["unbounded"] or "ALTER SCHEMA .. RENAME"
    elif kind == "AlterObjectSchemaStmt":
        if target and node.get("objectType") in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
            out["changes"].append(target)
    elif kind == "RefreshMatViewStmt":
        out["reads"].append(target)  # its query runs: the view's functions are followed
    elif kind == "CallStmt":
        out["calls"].append(_list_name(node["funccall"].get("funcname", [])).rsplit(".", 1)[-1])
    elif kind == "FuncCall":
        name = _list_name(node.get("funcname", [])).rsplit(".", 1)[-1]
        out["calls"].append(name)
        if name in _RUNS_SQL_TEXT:
            out["unbounded"] = out["unbounded"] or f"{name}() runs SQL text"
    return None


# Functions of PostgreSQL and its contrib extensions that run SQL given as text (or a named
# relation's query): the text can call any function, so nothing bounds what they write.
_RUNS_SQL_TEXT = frozenset(
    {
        "ts_stat",
        "ts_rewrite",
        "query_to_xml",
        "query_to_xmlschema",
        "query_to_xml_and_xmlschema",
        "table_to_xml",
        "table_to_xmlschema",
        "table_to_xml_and_xmlschema",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "schema_to_xml",
        "schema_to_xmlschema",
        "schema_to_xml_and_xmlschema",
        "database_to_xml",
        "database_to_xmlschema",
        "database_to_xml_and_xmlschema",
        "dblink",
        "dblink_exec",
        "dblink_open",
        "dblink_send_query",
        "crosstab",
        "connectby",
    }
)


def _merge(out: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        if key == "unbounded":
            out[key] = out[key] or value
        else:
            out[key] = list(out[key]) + list(value)
