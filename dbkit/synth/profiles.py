"""Profiles: the project's ``synth/profiles/NAME.toml`` files that give tables and columns meaning.

The format is in docs/synth.md. In short::

    description = "what this profile is for"

    [constants]                 # names every expression of this profile can read
    INDUSTRIES = ["AI/ML", "SaaS", "Fintech"]

    [tables.companies]
    rows = 1.0                  # rows per --scale unit (default 1; 0 = leave the table alone)

    [tables.companies.columns]  # evaluated in this order, after the catalog's own columns
    industry = { expr = "choice(INDUSTRIES)", shared = true }
    _pattern = "PATTERNS[industry]"           # a leading _ names a helper variable, not a column
    growth_rate = "uniform(*_pattern['growth_rate_range']) * 100"
    website = { expr = "'https://example.com/' + str(i)", null = 0.2 }

    [tables.esg_metrics]
    per_parent = { column = "company_id", count = 12 }   # 12 rows per company: parent, k

Expressions are Python expressions (trusted project files, like the migrations) over the row's
earlier columns, ``i`` (row number), ``parent``/``k`` (per_parent), ``pick('table')`` (a random
row of a table generated earlier, with its ``id`` and shared columns), the constants and the
helpers ``uniform``, ``randint``, ``choice``, ``gauss``, ``chance``, ``clamp``,
``month_start``, ``days_ago``, ``date``, ``timedelta``, ``math``.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbkit.errors import SynthUsageError

PROFILE_DIR = Path("synth") / "profiles"
HELPERS = {
    "uniform", "randint", "chance", "choice", "gauss", "clamp", "month_start", "days_ago",
    "months_ago", "date", "timedelta", "math", "pick", "ANCHOR", "SEED", "i", "parent", "k",
}  # fmt: skip


@dataclass
class ColumnSpec:
    expr: str
    shared: bool = False
    null: float = 0.0


@dataclass
class PerParent:
    column: str
    count: int


@dataclass
class TableProfile:
    origin: str  # the profile's name
    rows: float | None = None
    per_parent: PerParent | None = None
    columns: dict[str, ColumnSpec] = field(default_factory=dict)


@dataclass
class Profiles:
    names: list[str] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, TableProfile] = field(default_factory=dict)


def available(project_dir: Path) -> list[str]:
    directory = project_dir / PROFILE_DIR
    return sorted(p.stem for p in directory.glob("*.toml")) if directory.is_dir() else []


def load(project_dir: Path, names: list[str] | None) -> Profiles:
    """The named profiles (default: every profile of the project), merged."""
    found = available(project_dir)
    if names:
        unknown = [n for n in names if n not in found]
        if unknown:
            listed = ", ".join(found) if found else f"none in {PROFILE_DIR}/"
            raise SynthUsageError(
                f"unknown profile {unknown[0]!r} (available: {listed})",
            )
        chosen = list(dict.fromkeys(names))
    else:
        chosen = found
    result = Profiles(names=chosen)
    for name in chosen:
        _merge(result, name, _read(project_dir / PROFILE_DIR / f"{name}.toml", name))
    return result


def _read(path: Path, name: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SynthUsageError(f"profile {name} ({path}): {exc}") from None


def _merge(into: Profiles, name: str, data: dict[str, Any]) -> None:
    unknown = set(data) - {"description", "constants", "tables"}
    if unknown:
        raise SynthUsageError(f"profile {name}: unknown key {sorted(unknown)[0]!r}")
    for key, value in (data.get("constants") or {}).items():
        if key in into.constants and into.constants[key] != value:
            raise SynthUsageError(f"profile {name}: constant {key} differs from another profile's")
        into.constants[key] = value
    for table, spec in (data.get("tables") or {}).items():
        if table in into.tables:
            raise SynthUsageError(
                f"profile {name}: table {table} is also configured by profile "
                f"{into.tables[table].origin}"
            )
        into.tables[table] = _table(name, table, spec)


def _table(name: str, table: str, spec: dict[str, Any]) -> TableProfile:
    where = f"profile {name}: tables.{table}"
    if not isinstance(spec, dict):
        raise SynthUsageError(f"{where} must be a table")
    unknown = set(spec) - {"rows", "per_parent", "columns"}
    if unknown:
        raise SynthUsageError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    profile = TableProfile(origin=name)
    if "rows" in spec:
        rows = spec["rows"]
        if not isinstance(rows, int | float) or rows < 0:
            raise SynthUsageError(f"{where}.rows must be a number >= 0, not {rows!r}")
        profile.rows = float(rows)
    if "per_parent" in spec:
        pp = spec["per_parent"]
        if (
            not isinstance(pp, dict)
            or not isinstance(pp.get("column"), str)
            or not isinstance(pp.get("count"), int)
            or pp["count"] < 1
        ):
            raise SynthUsageError(
                f'{where}.per_parent must be {{ column = "fk_column", count = N }} with N >= 1'
            )
        profile.per_parent = PerParent(pp["column"], pp["count"])
    for column, value in (spec.get("columns") or {}).items():
        at = f"{where}.columns.{column}"
        if isinstance(value, str):
            entry = ColumnSpec(value)
        elif isinstance(value, dict) and isinstance(value.get("expr"), str):
            extra = set(value) - {"expr", "shared", "null"}
            if extra:
                raise SynthUsageError(f"{at}: unknown key {sorted(extra)[0]!r}")
            null = value.get("null", 0.0)
            if not isinstance(null, int | float) or not 0 <= null <= 1:
                raise SynthUsageError(f"{at}.null must be a probability between 0 and 1")
            entry = ColumnSpec(value["expr"], bool(value.get("shared", False)), float(null))
        else:
            raise SynthUsageError(f'{at} must be an expression string or {{ expr = "..." }}')
        try:
            ast.parse(entry.expr, mode="eval")
        except SyntaxError as exc:
            raise SynthUsageError(f"{at}: invalid expression {entry.expr!r} ({exc.msg})") from None
        profile.columns[column] = entry
    return profile


def rewrite(expr: str, columns: set[str], known: set[str], at: str) -> str:
    """``expr`` with the row's column names turned into the generator's variables (``v_x``).

    Refuses a name that is neither a column set earlier, a helper variable, a constant nor a
    helper, so a typo in a profile stops the run before anything is written.
    """
    tree = ast.parse(expr, mode="eval")
    bound = {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)  # comprehension targets
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in bound:
                return node
            if node.id in columns:
                return ast.copy_location(ast.Name(id="v_" + node.id, ctx=node.ctx), node)
            if node.id not in known:
                raise SynthUsageError(f"{at}: unknown name {node.id!r} in {expr!r}")
            return node

    return ast.unparse(Rename().visit(tree))
