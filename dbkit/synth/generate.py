"""Compile a table's catalog facts and its profile into one fast row function.

For every table, :func:`compile_table` writes the Python source of a function
``chunk(start, stop)`` that returns the COPY text of rows ``start..stop-1`` and ``exec``-s it
once. Every column is one local variable computed by one expression (the catalog's generator
for its type and constraints, or the profile's expression), so a row costs a few hundred
nanoseconds per column and nothing is materialised beyond one chunk of text.

Determinism: rows are generated in fixed chunks of :data:`CHUNK` rows, each with its own
``random.Random`` seeded from (seed, table, chunk number), so the same seed gives the same rows
whatever the COPY batch size. Keys are computable from the row number (a UUID prefix per
(seed, table) followed by the row number in hex; integers after the table's current maximum),
so a child table picks a parent row by number without holding the parent's keys in memory.
Profile columns marked ``shared`` are computed from the row number alone (a hash, not the chunk
generator), so a child can recompute its parent's attributes (``parent.industry``).
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dbkit.errors import SynthError, SynthUsageError
from dbkit.synth.catalog import Column, ForeignKey, Table
from dbkit.synth.profiles import HELPERS, ColumnSpec, TableProfile, rewrite

CHUNK = 4096
NULL = "\\N"
ANCHOR = date(2025, 12, 31)  # generated dates end here (fixed, so output is deterministic)
_INT_LIMITS = {"int2": 32767, "int4": 2147483647, "int8": 9223372036854775807}
ALLOWED_BUILTINS = {
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "float", "int", "len", "list",
    "max", "min", "pow", "range", "round", "sorted", "str", "sum", "tuple", "zip", "None",
    "True", "False",
}  # fmt: skip


def stable_int(*parts: Any) -> int:
    """A 64-bit integer from the parts, the same in every process (unlike ``hash``)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def uuid_prefix(seed: int, table: str) -> str:
    """``xxxxxxxx-xxxx-4xxx-8xxx-`` for (seed, table); the row number fills the last 12 digits."""
    h = f"{stable_int('uuid', seed, table):016x}"
    return f"{h[:8]}-{h[8:12]}-4{h[12:15]}-8{h[13:16]}-"


_HELPERS = """
def uniform(a, b):
    return a + (b - a) * rnd()
def randint(a, b):
    return a + int((b - a + 1) * rnd())
def chance(p):
    return rnd() < p
def choice(seq, weights=None):
    if weights is None:
        return seq[int(rnd() * len(seq))]
    total = 0.0
    for w in weights:
        total += w
    x = rnd() * total
    for item, w in zip(seq, weights):
        x -= w
        if x < 0:
            return item
    return seq[-1]
def gauss(mu, sigma):
    u = rnd() or 1e-12
    return mu + sigma * _math.sqrt(-2.0 * _math.log(u)) * _math.cos(6.283185307179586 * rnd())
def clamp(x, lo, hi):
    return lo if x < lo else hi if x > hi else x
@_cache
def month_start(months_back):
    y, m = ANCHOR.year, ANCHOR.month - int(months_back)
    while m < 1:
        m += 12
        y -= 1
    return _date(y, m, 1)
@_cache
def days_ago(n):
    return ANCHOR - _timedelta(days=int(n))
def months_ago(n):
    return month_start(n)
"""


class HashRandom:
    """A per-row generator: the row number hashed once, then an LCG (for ``shared`` columns)."""

    __slots__ = ("salt", "x")

    def __init__(self, salt: int) -> None:
        self.salt = salt
        self.x = 0

    def reset(self, row: int) -> None:
        x = (row * 0x9E3779B97F4A7C15 + self.salt) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 30
        x = (x * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 27
        x = (x * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        self.x = x ^ (x >> 31)

    def random(self) -> float:
        x = self.x = (self.x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return (x >> 11) * 1.1102230246251565e-16


class Row:
    """A parent row seen from a child: its key (``id``) and its shared attributes."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Row({self.__dict__})"


@dataclass
class KeySource:
    """How a child finds values for a foreign key to ``table``'s ``columns``."""

    table: str
    rows: int  # generated rows (computed keys) or sampled keys
    key_fn: Any = None  # row number -> tuple of key texts (generated parents)
    sample: list[tuple] | None = None  # existing keys (parents not generated in this run)
    attrs_fn: Any = None  # row number -> Row (generated parents)
    key_fns: dict[tuple[str, ...], Any] = field(default_factory=dict)  # per referenced key
    deferred: bool = False  # generated in this run, keys not computable: sampled once loaded
    templates: dict[tuple[str, ...], str] = field(default_factory=dict)  # key expr with {j}


@dataclass
class TablePlan:
    """Everything the loader needs to stream one table."""

    table: Table
    rows: int
    columns: list[str]  # the COPY column list, in order
    chunk: Any = None  # chunk(start, stop) -> str
    key_fns: dict[tuple[str, ...], Any] = field(default_factory=dict)  # key columns -> fn(i)
    attrs_fn: Any = None
    notes: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)  # integer key columns to setval after
    key_templates: dict[tuple[str, ...], str] = field(default_factory=dict)
    source: str = ""


class Compiler:
    """Builds :class:`TablePlan` objects for one run (one seed, one set of profiles)."""

    def __init__(self, seed: int, expires_at: datetime, constants: dict[str, Any]) -> None:
        self.seed = seed
        self.expires_text = expires_at.astimezone(UTC).isoformat(sep=" ")
        self.constants = constants

    # -- public ------------------------------------------------------------------------------

    def compile_table(
        self,
        table: Table,
        rows: int,
        profile: TableProfile | None,
        keys: dict[str, KeySource],
        int_offsets: dict[str, int],
        null_fks: set[str],
    ) -> TablePlan:
        """The plan of ``table``: ``keys`` maps a referenced table to where its keys come from."""
        name = table.qualified
        ns: dict[str, Any] = self._namespace()
        specs = dict(profile.columns) if profile else {}
        lines: list[str] = []
        columns: list[str] = []
        formats: list[str] = []
        plan = TablePlan(table, rows, columns)
        consts: list[Any] = []

        def const(value: Any) -> str:
            consts.append(value)
            ns[f"K{len(consts)}"] = value
            return f"K{len(consts)}"

        self._const = const

        self._offsets = int_offsets
        injective = self._injective_columns(table, specs, rows, keys)
        radix: dict[str, int] = {}
        for entry in [e for e in injective if e.startswith("__fk__:")]:
            key = entry[len("__fk__:") :].split(",")
            divisor = 1
            for fk in table.foreign_keys:
                if set(fk.columns) <= set(key):
                    source = keys.get(fk.ref_table)
                    radix[fk.name] = divisor
                    divisor *= source.rows if source else 0
            if divisor < rows:
                raise SynthError(
                    f"the unique key ({', '.join(key)}) of {name} is too small for {rows} rows: "
                    f"its parents allow {divisor} distinct combinations"
                )
        self._radix = radix
        fk_of = {c: fk for fk in table.foreign_keys for c in fk.columns}
        synthetic = (
            "is_synthetic" in table.columns
            and "expires_at" in table.columns
            and table.columns["is_synthetic"].base == "bool"
        )
        shared_names = [n for n, s in specs.items() if s.shared]
        if shared_names:
            plan.attrs_fn = self._shared_fn(table, profile, keys)
            ns["SHARED"] = plan.attrs_fn
            lines.append("        __s = SHARED(i)")
        per_parent = profile.per_parent if profile else None
        if per_parent:
            fk = fk_of.get(per_parent.column)
            source = keys.get(fk.ref_table) if fk else None
            if fk is None or source is None or source.attrs_fn is None:
                raise SynthError(
                    f"profile {profile.origin}: tables.{name}.per_parent: {per_parent.column} "
                    "must be a foreign key to a table generated in this run"
                )
            ns["PARENT"] = source.attrs_fn
            lines.append(f"        parent = PARENT(i // {per_parent.count})")
            lines.append(f"        k = i % {per_parent.count}")
        # picks named in the profile: pick('companies') -> a random parent row
        ns["_picks"] = {
            t: (s.rows, s.attrs_fn) for t, s in keys.items() if s.attrs_fn is not None and s.rows
        }

        # 1. catalog columns (those no profile expression sets), then 2. profile entries in order
        handled_fks: set[str] = set()
        for column in table.columns.values():
            if column.generated or column.name in specs:
                continue
            if column.name in fk_of:
                fk = fk_of[column.name]
                if fk.name in handled_fks:
                    continue
                if per_parent and per_parent.column in fk.columns:
                    handled_fks.add(fk.name)
                    for col in fk.columns:
                        columns.append(col)
                        formats.append(self._format(table.columns[col], raw=True))
                        lines.append(f"        v_{col} = parent.id")
                    continue
                handled_fks.add(fk.name)
                self._fk_lines(table, fk, keys, rows, injective, null_fks, lines, plan, ns)
                for col in fk.columns:
                    if col not in specs:
                        columns.append(col)
                        formats.append(self._format(table.columns[col], raw=True))
                continue
            expr, fmt = self._catalog_expr(
                table, column, rows, injective, int_offsets, synthetic, const, plan
            )
            if expr is None:
                continue  # left to its DEFAULT
            columns.append(column.name)
            formats.append(fmt)
            lines.append(f"        v_{column.name} = {expr}")
        available = set(columns)
        variables: set[str] = set()
        entries = list(specs.items())
        read_later: list[set[str]] = [set() for _ in entries]
        for index in range(len(entries) - 2, -1, -1):
            read_later[index] = read_later[index + 1] | names_in(entries[index + 1][1].expr)
        for index, (key, spec) in enumerate(entries):
            if not key.startswith("_") and key not in table.columns:
                raise SynthUsageError(
                    f"profile {profile.origin}: tables.{name}.columns.{key}: {name} has no "
                    f"column {key}"
                )
            if not key.startswith("_") and table.columns[key].generated:
                raise SynthUsageError(
                    f"profile {profile.origin}: tables.{name}.columns.{key}: {key} is a "
                    "generated column; PostgreSQL computes it"
                )
            target = f"v_{key}" if not key.startswith("_") else key
            if spec.shared:
                lines.append(f"        {target} = __s.{key}")
            else:
                scale = None
                if not key.startswith("_") and key not in read_later[index]:
                    kind = _kind(table.columns[key])
                    scale = int(kind[3:]) if kind.startswith("dec") else None
                expr = self._profile_expr(
                    name, key, spec, profile, available, variables, round_to=scale
                )
                lines.append(f"        {target} = {expr}")
            if key.startswith("_"):
                variables.add(key)
            else:
                available.add(key)
            if not key.startswith("_"):
                column = table.columns[key]
                columns.append(key)
                formats.append(self._format(column, raw=False))
        # 3. CHECK orders between two columns
        generated_here = {c for c in columns if c not in specs}
        for low, _op, high in table.orders:
            if low in generated_here and high in generated_here:
                lines.append(
                    f"        if v_{low} is not None and v_{high} is not None and "
                    f"v_{low} > v_{high}:\n"
                    f"            v_{low}, v_{high} = v_{high}, v_{low}"
                )
        # 4. opaque CHECKs: NULL their nullable columns, refuse when a column cannot be NULL
        marked = {"is_synthetic", "expires_at"} if synthetic else set()
        for check, definition, mentioned in table.opaque_checks:
            if any(c in specs for c in mentioned):
                continue
            if marked and set(mentioned) <= marked:
                # both are set on every row (true, now() + ttl), never NULLed: a rule tying the
                # two (a synthetic row must expire) holds, and the server confirms any other
                continue
            if not mentioned or any(table.columns[c].not_null for c in mentioned):
                raise SynthError(
                    f"cannot satisfy CHECK {check} on {name} ({definition}): dbkit synth only "
                    "reads ranges, IN lists and column orders; give the column an expression "
                    "in a profile (synth/profiles/NAME.toml)",
                )
            for col in mentioned:
                if col in generated_here:
                    lines.append(f"        v_{col} = None")
            plan.notes.append(f"{', '.join(mentioned)} left NULL to satisfy CHECK {check}")

        fields = "\\t".join("{" + f + "}" for f in formats)
        body = "\n".join(lines)
        source = (
            "def chunk(start, stop):\n"
            "    out = []\n"
            "    ap = out.append\n"
            "    for i in range(start, stop):\n"
            f"{body}\n"
            f'        ap(f"{fields}")\n'
            "    out.append('')\n"
            "    return '\\n'.join(out)\n"
        )
        plan.source = source
        try:
            exec(compile(source, f"<synth {name}>", "exec"), ns)
        except SyntaxError as exc:  # pragma: no cover - a bug in this module, not user input
            raise SynthError(f"internal error compiling the generator of {name}: {exc}") from None
        inner = ns["chunk"]
        salt = stable_int("chunk", self.seed, name)

        def chunk(start: int, stop: int) -> str:
            """Rows start..stop-1; each CHUNK-aligned block has its own seeded generator.

            A block entered in its middle is generated from its first row and the rows before
            ``start`` dropped (the stream's draws per row vary), so any split of the rows into
            calls gives the same text; the loader asks for whole blocks."""
            parts = []
            pos = start
            while pos < stop:
                block = pos // CHUNK
                first = block * CHUNK
                end = min(stop, first + CHUNK)
                rng = random.Random(salt ^ block)
                ns["rnd"] = rng.random
                ns["getrandbits"] = rng.getrandbits
                text = inner(first, end)
                if pos > first:
                    cut = -1
                    for _ in range(pos - first):
                        cut = text.index("\n", cut + 1)
                    text = text[cut + 1 :]
                parts.append(text)
                pos = end
            return "".join(parts)

        plan.chunk = chunk
        for key_columns, expr in self._key_exprs(table, injective).items():
            plan.key_fns[key_columns] = eval(f"lambda i: ({expr},)", ns)  # noqa: S307
            if expr.startswith("'") and expr.endswith("% i"):  # a uuid prefix: inline it
                plan.key_templates[key_columns] = expr[: -len("i")] + "({j})"
        return plan

    # -- namespaces --------------------------------------------------------------------------

    def _namespace(self) -> dict[str, Any]:
        ns: dict[str, Any] = {
            "__builtins__": {n: getattr(builtins, n) for n in ALLOWED_BUILTINS},
            "_math": math,
            "math": math,
            "_date": date,
            "_timedelta": timedelta,
            "_datetime": datetime,
            "date": date,
            "timedelta": timedelta,
            "ANCHOR": ANCHOR,
            "N": NULL,
            "BS": "\\",
            "SEED": self.seed,
            "_esc": _escape,
            "_fmt": _format_any,
            "_bool": _format_bool,
            "_cache": functools.lru_cache(maxsize=8192),
            "_isodate": functools.lru_cache(maxsize=4096)(date.isoformat),
            "_jenc": _JSON.encode,
        }
        ns.update(self.constants)
        exec(_HELPERS, ns)
        ns["pick"] = _make_pick(ns)
        return ns

    def _shared_fn(self, table: Table, profile: TableProfile, keys: dict[str, KeySource]):
        """row number -> Row of the shared entries (and ``id``), from the row number alone."""
        ns = self._namespace()
        hr = HashRandom(stable_int("shared", self.seed, table.qualified))
        ns["rnd"] = hr.random
        ns["_picks"] = {
            t: (s.rows, s.attrs_fn) for t, s in keys.items() if s.attrs_fn is not None and s.rows
        }
        lines = []
        names = []
        outer_const = self._const
        shared_consts: list[Any] = []

        def shared_const(value: Any) -> str:
            shared_consts.append(value)
            ns[f"S{len(shared_consts)}"] = value
            return f"S{len(shared_consts)}"

        self._const = shared_const
        for key, spec in profile.columns.items():
            if not spec.shared:
                continue
            expr = self._profile_expr(table.qualified, key, spec, profile, set(), set(names))
            lines.append(f"    {key} = {expr}")
            names.append(key)
        self._const = outer_const
        key_expr = None
        if table.primary_key and len(table.primary_key) == 1:
            pk = table.columns[table.primary_key[0]]
            if pk.base == "uuid":
                key_expr = f"{uuid_prefix(self.seed, table.qualified)!r} + '%012x' % i"
        pairs = ", ".join(f"{n!r}: {n}" for n in names)
        id_pair = f"'id': {key_expr}, " if key_expr else ""
        source = (
            "def shared(i):\n    _reset(i)\n"
            + ("\n".join(lines) + "\n" if lines else "")
            + f"    return _Row({{{id_pair}{pairs}}})\n"
        )
        ns["_reset"] = hr.reset
        ns["_Row"] = Row
        exec(compile(source, f"<synth shared {table.qualified}>", "exec"), ns)
        inner = ns["shared"]
        cache: dict[int, Row] = {}

        def shared(i: int) -> Row:
            row = cache.get(i)
            if row is None:
                if len(cache) > 4096:
                    cache.clear()
                row = cache[i] = inner(i)
            return row

        return shared

    # -- catalog generators ------------------------------------------------------------------

    def _injective_columns(self, table: Table, specs, rows: int, keys) -> set[str]:
        """Columns that must take a distinct value per row (a key or part of one)."""
        chosen: set[str] = set()
        fk_cols = {c for fk in table.foreign_keys for c in fk.columns}
        keysets = ([table.primary_key] if table.primary_key else []) + table.unique_keys
        for key in keysets:
            if any(c in specs for c in key):
                continue  # the profile owns it
            if any(table.columns[c].generated for c in key):
                continue  # PostgreSQL generates it (GENERATED ALWAYS AS IDENTITY)
            candidates = [c for c in key if c not in fk_cols and _injectable(table.columns[c])]
            if candidates:
                chosen.add(candidates[0])
                continue
            if all(c in fk_cols for c in key):
                chosen.add("__fk__:" + ",".join(key))
                continue
            column = table.columns[key[0]]
            raise SynthError(
                f"the unique column {table.qualified}.{column.name} ({column.type_name}) cannot "
                f"hold {rows} distinct generated values; give it an expression in a profile or "
                "ask for fewer rows",
            )
        return chosen

    def _key_exprs(self, table: Table, injective: set[str]) -> dict[tuple[str, ...], str]:
        out = {}
        keysets = ([table.primary_key] if table.primary_key else []) + table.unique_keys
        for key in keysets:
            if len(key) == 1 and key[0] in injective:
                out[tuple(key)] = self._injective_expr(table, table.columns[key[0]])
        return out

    def _injective_expr(self, table: Table, column: Column) -> str:
        base = column.base
        offset = self._offsets.get(f"{table.qualified}.{column.name}", 0)
        if base in _INT_LIMITS:
            offset = max(offset, 1, int(column.low) if column.low is not None else 1)
        tag = f"s{self.seed % 100000}"
        if base == "uuid":
            return f"{uuid_prefix(self.seed, table.qualified)!r} + '%012x' % i"
        if base in _INT_LIMITS:
            return f"{offset} + i"
        if base == "date":
            return f"(_date(2000, 1, 1) + _timedelta(days={offset} + i)).isoformat()"
        if base in ("timestamptz", "timestamp"):
            return f"(_datetime(2000, 1, 1) + _timedelta(seconds={offset} + i)).isoformat(' ')"
        if "email" in column.name:
            return f"'user' + str(i) + '.{tag}@example.com'"
        prefix = column.name[:3] + tag[:3]
        if column.length is not None and column.length < 12:
            prefix = ""
        return f"{prefix!r} + '%x' % i"

    def _capacity(self, column: Column) -> int:
        if column.base in _INT_LIMITS:
            return _INT_LIMITS[column.base]
        if column.base == "date":
            return 2_900_000
        if column.length is not None:
            return 16 ** min(column.length, 15)
        return 1 << 62

    def _catalog_expr(
        self, table, column: Column, rows, injective, int_offsets, synthetic, const, plan
    ):
        """(expression, format) for one column from the catalog alone, or (None, "") to skip."""
        name = column.name
        nullable = not column.not_null
        if column.identity and column.name not in injective:
            return None, ""
        if column.name in injective and (column.allowed is not None or column.enum_labels):
            values = (
                [str(v) for v in column.allowed]
                if column.allowed is not None
                else list(column.enum_labels)
            )
            if rows > len(values):
                raise SynthError(
                    f"the unique column {table.qualified}.{name} ({column.type_name}) is too "
                    f"small for {rows} rows (it allows {len(values)} values)"
                )
            return f"{const(values)}[i]", "v_" + name
        if column.name in injective:
            if rows > self._capacity(column):
                raise SynthError(
                    f"the unique column {table.qualified}.{name} ({column.type_name}) is too "
                    f"small for {rows} rows (it holds at most {self._capacity(column)} distinct "
                    "values)"
                )
            if column.base in _INT_LIMITS:
                plan.sequences.append(name)
                return self._injective_expr(table, column), "str(v_" + name + ")"
            return self._injective_expr(table, column), "v_" + name
        if synthetic and name == "is_synthetic":
            return "True", "'t' if v_is_synthetic else 'f'"
        if synthetic and name == "expires_at":
            return repr(self.expires_text), "v_expires_at"
        value, fmt = self._value_expr(table, column, const)
        if value is None:
            if nullable:
                return "None", "N"
            if column.has_default:
                plan.notes.append(f"{name} ({column.type_name}) left to its DEFAULT")
                return None, ""
            raise SynthError(
                f"cannot generate {table.qualified}.{name} of type {column.type_name} (NOT NULL, "
                "no default): give it an expression in a profile (synth/profiles/NAME.toml)"
            )
        if nullable:
            value = f"None if rnd() < 0.1 else {value}"
        var = "v_" + name
        if nullable:
            return value, "N if " + var + " is None else " + fmt.replace("@", var)
        return value, fmt.replace("@", var)

    def _value_expr(self, table: Table, column: Column, const) -> tuple[str | None, str]:
        """A non-NULL value expression and its format template (``{v}`` = the variable)."""
        base, name = column.base, column.name
        if column.is_array:
            return "'{}'", "@"
        if column.allowed is not None:
            values = [str(v) for v in column.allowed]
            if not values:
                return None, ""
            pool = const(values)
            return f"{pool}[int(rnd() * {len(values)})]", "@"
        if column.enum_labels:
            pool = const(list(column.enum_labels))
            return f"{pool}[int(rnd() * {len(column.enum_labels)})]", "@"
        if base == "bool":
            return "rnd() < 0.5", "('t' if @ else 'f')"
        if base in _INT_LIMITS:
            lo, hi = _int_range(column)
            return f"{lo} + int(rnd() * {hi - lo + 1})", "str(@)"
        if base == "numeric":
            scale = column.scale if column.scale is not None else 2
            lo, hi = _numeric_range(column, scale)
            return f"{lo!r} + rnd() * {hi - lo!r}", "('%." + str(scale) + "f' % @)"
        if base in ("float4", "float8"):
            lo, hi = _numeric_range(column, 6)
            return f"{lo!r} + rnd() * {hi - lo!r}", "('%.6g' % @)"
        if base == "uuid":
            return "'%032x' % getrandbits(128)", "@"
        if base == "date":
            pool = const([(ANCHOR - timedelta(days=d)).isoformat() for d in range(1096)])
            return f"{pool}[int(rnd() * 1096)]", "@"
        if base in ("timestamptz", "timestamp"):
            pool = const(_timestamp_pool(base == "timestamptz"))
            return f"{pool}[int(rnd() * 8192)]", "@"
        if base in ("time", "timetz"):
            pool = const([f"{h:02d}:{m:02d}:00" for h in range(24) for m in range(0, 60, 15)])
            return f"{pool}[int(rnd() * 96)]", "@"
        if base == "interval":
            pool = const([f"{d} days" for d in range(1, 366)])
            return f"{pool}[int(rnd() * 365)]", "@"
        if base in ("json", "jsonb"):
            if "history" in name or name.endswith("s"):
                pool = const(["[]", '[{"n": 1}]', '[{"n": 1}, {"n": 2}]'])
            else:
                pool = const(["{}", '{"source": "synth"}', '{"source": "synth", "v": 2}'])
            return f"{pool}[int(rnd() * 3)]", "@"
        if base in ("inet", "cidr"):
            return "'10.%d.%d.%d' % (getrandbits(8), getrandbits(8), getrandbits(8) or 1)", "@"
        if base == "tsvector":
            return "''", "@"
        if base == "bytea":
            return "'\\\\x00'", "@"
        if column.category == "S" or base in ("text", "varchar", "bpchar", "citext", "name"):
            pool = const(_text_pool(table.name, column))
            return f"{pool}[int(rnd() * {len(_text_pool(table.name, column))})]", "@"
        return None, ""

    # -- foreign keys --------------------------------------------------------------------------

    def _fk_lines(self, table, fk: ForeignKey, keys, rows, injective, null_fks, lines, plan, ns):
        cols = fk.columns
        nullable = all(not table.columns[c].not_null for c in cols)
        source = keys.get(fk.ref_table)
        name = table.qualified
        fn = None
        if source is not None and source.deferred:
            fn = _placeholder(len(cols))  # replaced by a sample of the loaded parent
        elif source is not None and source.sample is None:
            fn = source.key_fns.get(tuple(fk.ref_columns))
            if fn is None and source.key_fn is not None and not source.key_fns:
                fn = source.key_fn
            if fn is None:
                source = None  # the referenced key is not computable: NULL or refuse
        target = ", ".join(f"v_{c}" for c in cols)
        nones = ", ".join("None" for _ in cols) + ("," if len(cols) == 1 else "")
        if fk.name in null_fks or source is None or source.rows == 0:
            if not nullable:
                why = f"{fk.ref_table} has no rows and none are asked for"
                if source is not None and source.rows and source.sample is None:
                    why = f"the key of {fk.ref_table} it references is not one dbkit can compute"
                raise SynthError(
                    f"cannot fill {name}.{', '.join(cols)}: {why} (give --rows {fk.ref_table}=N "
                    "or load it first)"
                )
            lines.append(f"        {target} = {nones[:-1] if len(cols) == 1 else nones}")
            if fk.name in null_fks:
                plan.notes.append(
                    f"{', '.join(cols)} left NULL (foreign-key cycle with {fk.ref_table})"
                )
            else:
                plan.notes.append(f"{', '.join(cols)} left NULL ({fk.ref_table} has no rows)")
            return
        var = f"F_{fk.name}"
        if fn is not None:
            ns[var] = fn
        else:
            ns[var] = source.sample.__getitem__
        nparent = source.rows
        template = source.templates.get(tuple(fk.ref_columns)) if len(cols) == 1 else None
        if template and fk.name not in self._radix and fk.ref_table != name:
            pick = template.replace("{j}", f"int(rnd() * {nparent})")
            if nullable:
                pick = f"None if rnd() < 0.1 else {pick}"
            lines.append(f"        v_{cols[0]} = {pick}")
            return
        if fk.name in self._radix:
            # part of a unique key made only of foreign keys: mixed radix over the parents
            pick = f"{var}((i // {self._radix[fk.name]}) % {nparent})"
        elif fk.ref_table == name:
            pick = f"{var}(int(rnd() * i)) if i else {var}(0)"
        else:
            pick = f"{var}(int(rnd() * {nparent}))"
        unpack = target + ("," if len(cols) == 1 else "")
        if nullable and fk.name not in self._radix:
            if fk.ref_table == name:
                lines.append(f"        {unpack} = ({nones}) if i == 0 or rnd() < 0.1 else {pick}")
            else:
                lines.append(f"        {unpack} = ({nones}) if rnd() < 0.1 else {pick}")
        else:
            lines.append(f"        {unpack} = {pick}")

    def _format(self, column: Column, *, raw: bool) -> str:
        v = "v_" + column.name
        if raw:
            return "N if " + v + " is None else " + v
        kind = _kind(column)
        if kind == "int":
            return f"N if {v} is None else (str({v}) if {v}.__class__ is int else '%d' % {v})"
        if kind.startswith("dec"):
            return f"N if {v} is None else '%.{kind[3:]}f' % {v}"
        if kind == "bool":
            return f"N if {v} is None else ('t' if {v} else 'f')"
        if kind == "text":
            if column.base == "date":
                return (
                    f"N if {v} is None else (_isodate({v}) if {v}.__class__ is _date "
                    f"else _fmt({v}, 'text'))"
                )
            if column.base in ("timestamp", "timestamptz"):
                return (
                    f"N if {v} is None else ({v}.isoformat(' ') if {v}.__class__ is _datetime "
                    f"else _fmt({v}, 'text'))"
                )
            return (
                f"N if {v} is None else ({v} if {v}.__class__ is str and {v}.isprintable() "
                f"and BS not in {v} else _fmt({v}, 'text'))"
            )
        if kind == "json":
            # dicts and lists of plain values encode without a backslash nearly always
            return (
                f"N if {v} is None else (_esc(_jenc({v})) if {v}.__class__ is dict or "
                f"{v}.__class__ is list else _fmt({v}, 'json'))"
            )
        return "_fmt(" + v + ", " + repr(kind) + ")"

    def _profile_expr(
        self,
        table: str,
        key: str,
        spec: ColumnSpec,
        profile,
        columns: set[str],
        names: set[str],
        round_to: int | None = None,
    ) -> str:
        """The Python expression of a profile entry; ``round_to``: the column's COPY format
        rounds to that many digits and no later entry reads it, so a top-level ``round`` goes."""
        at = f"profile {profile.origin}: tables.{table}.columns.{key}"
        known = HELPERS | ALLOWED_BUILTINS | set(self.constants) | names
        expr = rewrite(spec.expr, columns, known, at)
        tree = _PickId().visit(ast.parse(expr, mode="eval"))
        if not {"min", "max"} & set(self.constants):
            tree = _Clamp().visit(tree)
        expr = ast.unparse(tree)
        if round_to is not None:
            expr = _elide_round(expr, round_to)
        expr = _inline(expr, self.constants, self._const)
        if spec.null:
            expr = f"None if rnd() < {spec.null!r} else ({expr})"
        return expr


_INLINE = {"choice", "randint", "uniform", "chance"}


def _inline(expr: str, constants: dict[str, Any], const) -> str:
    """Calls of the random helpers with constant arguments, made inline expressions.

    ``choice(['a', 'b'], [3, 1])`` becomes ``K7[int(rnd() * 1000)]`` over a table of 1000
    entries in the weights' proportions; ``randint(1, 6)`` becomes ``(1 + int(rnd() * 6))``:
    no Python call per value.
    """
    tree = ast.parse(expr, mode="eval")

    def constant(node: ast.AST) -> bool:
        return all(
            not isinstance(n, ast.Name) or n.id in constants for n in ast.walk(node)
        ) and not any(
            isinstance(n, ast.Call | ast.Lambda | ast.comprehension) for n in ast.walk(node)
        )

    def value(node: ast.AST):
        return eval(
            compile(ast.Expression(node), "<const>", "eval"), {"__builtins__": {}}, constants
        )  # noqa: S307

    class Inline(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:
            self.generic_visit(node)
            if not (
                isinstance(node.func, ast.Name)
                and node.func.id in _INLINE
                and not node.keywords
                and all(constant(a) for a in node.args)
            ):
                return node
            try:
                args = [value(a) for a in node.args]
                text = _inline_call(node.func.id, args, const)
            except Exception:
                return node
            if text is None:
                return node
            return ast.parse(text, mode="eval").body

    return ast.unparse(Inline().visit(tree))


def _inline_call(name: str, args: list, const) -> str | None:
    if name == "choice" and len(args) == 1 and args[0]:
        seq = list(args[0])
        return f"{const(seq)}[int(rnd() * {len(seq)})]"
    if name == "choice" and len(args) == 2 and args[0] and len(args[0]) == len(args[1]):
        seq, weights = list(args[0]), [float(w) for w in args[1]]
        total = sum(weights)
        if total <= 0 or any(w < 0 for w in weights):
            return None
        table = []
        for item, w in zip(seq, weights, strict=True):
            table.extend([item] * (max(1, round(w / total * 1000)) if w > 0 else 0))
        return f"{const(table)}[int(rnd() * {len(table)})]"
    if name == "randint" and len(args) == 2 and all(isinstance(a, int) for a in args):
        a, b = args
        return f"({a!r} + int(rnd() * {b - a + 1!r}))"
    if name == "uniform" and len(args) == 2:
        a, b = float(args[0]), float(args[1])
        return f"({a!r} + rnd() * {b - a!r})"
    if name == "chance" and len(args) == 1:
        return f"(rnd() < {float(args[0])!r})"
    return None


def _placeholder(width: int):
    return lambda j: (None,) * width


def _make_pick(ns):
    def pick(table: str, every: int = 1, offset: int = 0) -> Row:
        """A random row of ``table`` (one of rows offset, offset+every, ... with a stride)."""
        picks = ns["_picks"]
        if table not in picks:
            raise SynthError(
                f"pick({table!r}): {table} is not generated in this run before this table"
            )
        rows, attrs = picks[table]
        if every > 1:
            slots = max(1, (rows - offset + every - 1) // every)
            return attrs(min(rows - 1, offset + every * int(ns["rnd"]() * slots)))
        return attrs(int(ns["rnd"]() * rows))

    def pick_id(table: str, every: int = 1, offset: int = 0):
        """``pick(...).id`` without building the parent's Row when its key is computable."""
        picks = ns["_picks"]
        if table not in picks:
            raise SynthError(
                f"pick({table!r}): {table} is not generated in this run before this table"
            )
        rows, attrs = picks[table]
        key_fn = getattr(attrs, "key_fn", None)
        if every > 1:
            slots = max(1, (rows - offset + every - 1) // every)
            j = min(rows - 1, offset + every * int(ns["rnd"]() * slots))
        else:
            j = int(ns["rnd"]() * rows)
        return key_fn(j)[0] if key_fn is not None else attrs(j).id

    ns["_pick_id"] = pick_id
    return pick


class _PickId(ast.NodeTransformer):
    """``pick(...).id`` -> ``_pick_id(...)``: same draws, same value, no Row per call."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        call = node.value
        if (
            node.attr == "id"
            and isinstance(node.ctx, ast.Load)
            and isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "pick"
        ):
            return ast.copy_location(
                ast.Call(ast.Name("_pick_id", ast.Load()), call.args, call.keywords), node
            )
        return node


class _Clamp(ast.NodeTransformer):
    """``clamp(x, lo, hi)`` with number bounds ``lo <= hi`` -> ``min(max(x, lo), hi)``: the same
    value (``x`` when it is within, the bound it passes otherwise, ties and NaN included), and
    two C calls instead of a Python function call."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "clamp"
            and len(node.args) == 3
            and not node.keywords
        ):
            x, lo, hi = node.args
            bounds = [_number(lo), _number(hi)]
            if None in bounds or bounds[0] > bounds[1]:
                return node
            inner = ast.Call(ast.Name("max", ast.Load()), [x, lo], [])
            return ast.copy_location(ast.Call(ast.Name("min", ast.Load()), [inner, hi], []), node)
        return node


def _number(node: ast.AST) -> float | None:
    """The value of a literal int or float (``-3`` included), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _number(node.operand)
        return None if value is None else -value
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    return None


def _elide_round(expr: str, scale: int) -> str:
    """``round(x, scale)`` at the top of a column's expression whose COPY format already rounds
    to ``scale`` digits (``'%.2f' % x`` prints what ``round(x, 2)`` would): just ``x``."""
    tree = ast.parse(expr, mode="eval")
    body = tree.body
    if (
        isinstance(body, ast.Call)
        and isinstance(body.func, ast.Name)
        and body.func.id == "round"
        and len(body.args) == 2
        and not body.keywords
        and isinstance(body.args[1], ast.Constant)
        and body.args[1].value == scale
        and type(body.args[1].value) is int
    ):
        return "(" + ast.unparse(body.args[0]) + ")"
    return expr


_TIMESTAMPS: dict[bool, list[str]] = {}


def _timestamp_pool(with_zone: bool) -> list[str]:
    """8192 timestamps spread over the three years before ANCHOR, made once per process."""
    if with_zone not in _TIMESTAMPS:
        start = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, 23, 59, 59)
        r = random.Random(8192)
        suffix = "+00" if with_zone else ""
        _TIMESTAMPS[with_zone] = [
            (start - timedelta(seconds=int(r.random() * 3 * 365 * 86400))).isoformat(" ") + suffix
            for _ in range(8192)
        ]
    return _TIMESTAMPS[with_zone]


def _injectable(column: Column) -> bool:
    if column.allowed is not None or column.enum_labels:
        return True
    return column.base in _INT_LIMITS or column.base in (
        "uuid", "text", "varchar", "bpchar", "citext", "date", "timestamptz", "timestamp",
    )  # fmt: skip


def _int_range(column: Column) -> tuple[int, int]:
    limit = _INT_LIMITS[column.base]
    lo, hi = -limit - 1, limit
    if column.low is not None:
        lo = math.ceil(column.low)
        if column.low_open and lo == column.low:
            lo += 1
    if column.high is not None:
        hi = math.floor(column.high)
        if column.high_open and hi == column.high:
            hi -= 1
    if column.low is None and column.high is None:
        lo, hi = 0, 1000
    elif column.low is None:
        lo = max(lo, hi - 1000)
    elif column.high is None:
        hi = min(hi, lo + 1000)
    if lo > hi:
        raise SynthError(f"CHECK constraints on {column.name} leave no integer value")
    return lo, hi


def _numeric_range(column: Column, scale: int) -> tuple[float, float]:
    unit = 10.0**-scale
    top = 10.0 ** ((column.precision or 17) - scale) - unit if column.precision else 1e6
    lo = float(column.low) if column.low is not None else None
    hi = float(column.high) if column.high is not None else None
    if lo is not None and column.low_open:
        lo += unit
    if hi is not None and column.high_open:
        hi -= unit
    if lo is None and hi is None:
        lo, hi = 0.0, min(top, 10000.0)
    elif lo is None:
        lo = max(-top, hi - 10000.0)
    elif hi is None:
        hi = min(top, lo + 10000.0)
    hi = min(hi, top)
    lo = max(lo, -top)
    if lo > hi:
        raise SynthError(f"CHECK constraints on {column.name} leave no value")
    # keep rounding to `scale` digits inside the range
    return (
        lo + unit / 2 if lo + unit / 2 <= hi else lo,
        hi - unit / 2 if hi - unit / 2 >= lo else hi,
    )


_FIRST = ["Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Edsger", "Margaret",
          "Donald", "Frances", "Dennis", "Radia"]  # fmt: skip
_LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Dijkstra",
         "Hamilton", "Knuth", "Allen"]  # fmt: skip
_CITIES = ["Lagos", "Nairobi", "London", "Berlin", "Austin", "Toronto", "Singapore", "Paris",
           "Sao Paulo", "Bangalore", "Sydney", "Cape Town"]  # fmt: skip
_COUNTRIES = ["US", "GB", "DE", "FR", "NG", "KE", "IN", "BR", "CA", "SG", "AU", "ZA"]


def _text_pool(table: str, column: Column) -> list[str]:
    name = column.name
    if "email" in name:
        values = [f"{f.lower()}.{ln.lower()}@example.com" for f in _FIRST for ln in _LAST]
    elif name in ("full_name", "name", "contact_name") or name.endswith("_name"):
        values = [f"{f} {ln}" for f in _FIRST for ln in _LAST]
        if name == "name" and table not in ("users", "contacts"):
            values = [f"{ln} {table.rstrip('s').replace('_', ' ').title()}" for ln in _LAST]
    elif "url" in name or name == "website" or name == "domain":
        values = [f"https://example.com/{table}/{n}" for n in range(64)]
        if name == "domain":
            values = [f"{ln.lower()}.example.com" for ln in _LAST]
    elif name == "country" or name.endswith("_country"):
        values = _COUNTRIES
    elif name == "city" or name == "location":
        values = _CITIES
    elif name == "currency":
        values = ["USD", "EUR", "GBP", "NGN", "KES"]
    elif "phone" in name:
        values = [f"+1555{n:07d}" for n in range(64)]
    elif name in ("description", "notes", "content", "body", "summary", "message") or (
        column.base == "text"
    ):
        words = [
            "synthetic",
            "row",
            "generated",
            "by",
            "dbkit",
            "synth",
            "for",
            "volume",
            "testing",
            "of",
            "the",
            "schema",
        ]
        values = [" ".join(words[k : k + 6]) for k in range(len(words) - 5)]
    else:
        values = [f"{name}_{n}" for n in range(16)]
    if column.length is not None:
        values = [v[: column.length] for v in values]
    return values or ["x"]


def _kind(column: Column) -> str:
    base = column.base
    if column.is_array:
        return "array"
    if base == "bool":
        return "bool"
    if base in _INT_LIMITS:
        return "int"
    if base == "numeric":
        return f"dec{column.scale if column.scale is not None else 6}"
    if base in ("json", "jsonb"):
        return "json"
    return "text"


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


_JSON = json.JSONEncoder(default=str)  # one encoder for every value (json.dumps makes one a call)


def _format_bool(value: Any) -> str:
    return "t" if value else "f"


def _format_any(value: Any, kind: str) -> str:
    """COPY text of a profile expression's value for a column of ``kind``."""
    if value is None:
        return NULL
    if kind == "int":
        return "%d" % value
    if kind.startswith("dec"):
        return f"%.{kind[3:]}f" % value
    if kind == "bool":
        return "t" if value else "f"
    if kind == "json" and not isinstance(value, str):
        return _escape(_JSON.encode(value))
    if kind == "array" and isinstance(value, list | tuple):
        return _escape("{" + ",".join('"' + str(v).replace('"', '\\"') + '"' for v in value) + "}")
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return _escape(str(value))


def names_in(expr: str) -> set[str]:
    """Free names an expression reads (for the profile checker)."""
    tree = ast.parse(expr, mode="eval")
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
