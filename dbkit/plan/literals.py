"""SQL literals and identifiers: the one place that quotes a value or a name into SQL text.

Everything dbkit writes as SQL text rather than sending as a parameter (the ``dbkit sql``
script, the Alembic offline output, a migration's preamble, preservation queries) quotes
through :func:`literal`, and every name it splices into SQL text through :func:`identifier`,
so the quoting rules cannot differ between paths.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dbkit.errors import UsageError


class SqlExpr(str):
    """A raw SQL expression to render as is (``now()``), not as a quoted literal."""


def literal(value: Any) -> str:
    """``value`` as a SQL literal that means the same under any ``standard_conforming_strings``."""
    if value is None:
        return "NULL"
    if isinstance(value, SqlExpr):
        return str(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f"'{value}'::float8"
        return repr(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, date):
        return f"'{value.isoformat()}'::date"
    if isinstance(value, str):
        if "\x00" in value:
            raise UsageError("cannot render a value containing a NUL character as SQL")
        quoted = "'" + value.replace("'", "''") + "'"
        if "\\" in value:
            # E'' keeps backslashes literal whatever standard_conforming_strings says.
            return "E" + quoted.replace("\\", "\\\\")
        return quoted
    raise TypeError(f"cannot render {type(value).__name__} as a SQL literal")


def identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (always quoted: the name as it is, case and all)."""
    return '"' + name.replace('"', '""') + '"'
