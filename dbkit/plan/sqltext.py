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


# Statements that define code a later statement can run (and so remove rows through).
_DEFINES_CODE = frozenset({"CreateFunctionStmt", "CreateTrigStmt"})
_MAY_DEFINE = re.compile(r"\b(function|procedure|trigger)\b", re.IGNORECASE)


def row_removal(sql: str) -> dict[str, Any]:
    """The parts of ``sql`` the phase snapshot searches for table names: ``removing``, the
    statements that may remove rows (as :func:`could_remove_rows` judges them), and
    ``defines``, the function, procedure and trigger definitions as ``[kind, text]`` pairs
    (code a statement can run later: followed only when called, or when the trigger's table is
    a suspect). ``removing`` is its statements joined, ``""`` when there are none: a ``DROP
    TRIGGER t ON payments`` in a file that also drops a table names no table that can lose
    rows. Text that does not parse is returned whole as ``removing`` (conservative)."""
    removing: list[str] = []
    defines: list[list[str]] = []
    if _ROW_CHANGING_WORDS.search(sql) or _MAY_DEFINE.search(sql):
        import json

        from pglast.parser import ParseError, parse_sql_json

        try:
            for _, chunk, parsed in _parsed_chunks(sql, parse_sql_json):
                data = chunk.encode("utf-8")  # the parser's locations count bytes
                for raw in json.loads(parsed).get("stmts", []):
                    ((kind, _),) = raw["stmt"].items()
                    defining = kind in _DEFINES_CODE
                    if defining or _may_remove_rows(raw):
                        start = raw.get("stmt_location", 0)
                        end = start + raw["stmt_len"] if raw.get("stmt_len") else len(data)
                        text = data[start:end].decode("utf-8", "replace")
                        if defining:
                            defines.append([kind, text])
                        else:
                            removing.append(text)
        except ParseError:
            return {"removing": sql, "defines": []}
    return {"removing": ";\n".join(removing), "defines": defines}


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
        cmd.get("AlterTableCmd", {}).get("subtype") in _KEEPS_ROWS for cmd in node["cmds"]
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
