"""Generate a realistic dbkit project of a few hundred migrations, for benchmarking.

    python benchmarks/generate.py OUTPUT_DIR [--count 300] [--seed 20240601]

The project looks like a real application's history: phases named after modules (core, auth,
crm, catalog, ...), tables with named primary keys, unique and check constraints, foreign keys
and their indexes, enum types, PL/pgSQL functions with ``$$`` (and ``$fn$``) bodies, touch and
audit triggers, views (created and later replaced), ``ALTER TABLE`` adding columns and
constraints (``NOT VALID`` then ``VALIDATE``), column renames, lookup tables with seed data
(``INSERT ... VALUES`` and ``INSERT ... SELECT generate_series``), and a few non-transactional
migrations (``CREATE INDEX CONCURRENTLY IF NOT EXISTS``).

Every migration has a rollback that undoes exactly what it did, so ``dbkit rollback --to base``
leaves an empty ``public`` schema. Output is deterministic for a given seed and count.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

REVISION_TEMPLATE = '''"""{description}"""
from dbkit.revision import sql_pair

revision = "{revision}"
down_revision = {down}
phase = "{phase}"
{options}upgrade, downgrade = sql_pair(__file__)
'''

MODULES: list[tuple[str, list[str]]] = [
    ("core", ["tenants", "regions", "currencies", "settings", "locales", "calendars"]),
    ("auth", ["users", "roles", "permissions", "sessions", "api_keys", "invitations"]),
    ("crm", ["companies", "contacts", "leads", "notes", "activities", "deals"]),
    ("catalog", ["categories", "brands", "products", "variants", "prices", "attributes"]),
    ("inventory", ["warehouses", "suppliers", "stock_items", "movements", "batches", "counts"]),
    ("orders", ["carts", "orders", "order_lines", "coupons", "returns", "fulfilments"]),
    ("billing", ["accounts", "invoices", "payments", "refunds", "tax_rates", "ledgers"]),
    ("shipping", ["carriers", "zones", "shipments", "parcels", "routes", "labels"]),
    ("support", ["queues", "tickets", "replies", "sla_policies", "macros", "surveys"]),
    ("analytics", ["events", "daily_rollups", "funnels", "cohorts", "reports", "exports"]),
]
LOOKUP_NOUNS = ["statuses", "sources", "kinds", "reasons", "channels", "levels", "methods"]
ENUM_VALUES = [
    ["draft", "active", "suspended", "archived"],
    ["low", "normal", "high", "urgent"],
    ["pending", "processing", "done", "failed", "cancelled"],
    ["email", "phone", "chat", "web"],
    ["daily", "weekly", "monthly", "yearly"],
]

# Columns a CREATE TABLE may carry (NOT NULL without default is fine: the table is new).
CREATE_COLUMNS: list[tuple[str, str]] = [
    ("name", "text NOT NULL"),
    ("code", "varchar(40) NOT NULL"),
    ("description", "text"),
    ("amount", "numeric(14, 2) NOT NULL DEFAULT 0"),
    ("quantity", "integer NOT NULL DEFAULT 0"),
    ("is_active", "boolean NOT NULL DEFAULT true"),
    ("metadata", "jsonb NOT NULL DEFAULT '{}'::jsonb"),
    ("email", "text"),
    ("external_ref", "uuid DEFAULT gen_random_uuid()"),
    ("starts_on", "date"),
    ("ends_on", "date"),
    ("priority", "smallint NOT NULL DEFAULT 3"),
    ("score", "double precision"),
    ("tags", "text[] NOT NULL DEFAULT '{}'"),
]
# Columns ALTER TABLE ... ADD COLUMN may add to a table that may hold rows.
ADD_COLUMNS: list[tuple[str, str]] = [
    ("notes", "text"),
    ("archived_at", "timestamptz"),
    ("deleted_at", "timestamptz"),
    ("version", "integer NOT NULL DEFAULT 1"),
    ("sort_order", "integer NOT NULL DEFAULT 0"),
    ("source", "varchar(32)"),
    ("weight_kg", "numeric(10, 3)"),
    ("country_code", "char(2)"),
    ("is_locked", "boolean NOT NULL DEFAULT false"),
    ("settings", "jsonb NOT NULL DEFAULT '{}'::jsonb"),
    ("reviewed_by", "text"),
    ("reviewed_at", "timestamptz"),
    ("valid_until", "date"),
    ("discount_pct", "numeric(5, 2) DEFAULT 0"),
    ("retries", "smallint NOT NULL DEFAULT 0"),
    ("checksum", "bytea"),
    ("locale", "varchar(16) DEFAULT 'en'"),
]
NUMERIC_TYPES = ("numeric", "integer", "smallint", "double precision")
MAX_IDENT = 63


def ident(name: str) -> str:
    """A PostgreSQL identifier: long names are shortened with a hash so they stay unique."""
    if len(name) <= MAX_IDENT:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENT - 9]}_{digest}"


def singular(noun: str) -> str:
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    if noun.endswith(("sses", "ches", "shes")):
        return noun[:-2]
    return noun[:-1] if noun.endswith("s") else noun


@dataclass
class Table:
    name: str
    module: str
    columns: dict[str, str]  # name -> type text (with NOT NULL / DEFAULT)
    lookup: bool = False
    has_touch: bool = False
    has_audit: bool = False
    parents: list[str] = field(default_factory=list)  # FK column names
    pinned: set[str] = field(default_factory=set)  # columns named in view texts: never renamed

    def numeric(self) -> list[str]:
        return [c for c, t in self.columns.items() if t.startswith(NUMERIC_TYPES)]

    def plain(self) -> list[str]:
        """Columns an ordinary b-tree index would cover."""
        skip = ("jsonb", "text[]", "bytea")
        return [c for c, t in self.columns.items() if c != "id" and not t.startswith(skip)]


@dataclass
class Migration:
    slug: str
    phase: str
    up: str
    down: str
    transactional: bool = True
    description: str = ""


class Generator:
    def __init__(self, count: int, seed: int) -> None:
        self.count = count
        self.rng = random.Random(seed)
        self.tables: dict[str, Table] = {}
        self.names: set[str] = set()  # every index, constraint, function, view, type, trigger
        self.functions: dict[str, tuple[str, str]] = {}  # name(args) -> (signature, body sql)
        self.views: dict[str, str] = {}  # name -> CREATE VIEW text
        self.noun_use: dict[str, int] = {}
        self.migrations: list[Migration] = []

    # -- naming ----------------------------------------------------------------------------

    def fresh(self, name: str) -> str:
        base = ident(name)
        candidate, n = base, 2
        while candidate in self.names or candidate in self.tables:
            candidate = ident(f"{name}_{n}")
            n += 1
        self.names.add(candidate)
        return candidate

    def new_table_name(self, module: str, nouns: list[str]) -> str:
        for noun in nouns:
            name = f"{module}_{noun}"
            if name not in self.tables:
                return name
        noun = self.rng.choice(nouns)
        for suffix in ("history", "snapshots", "archive", "staging", "imports", "links"):
            name = f"{module}_{noun}_{suffix}"
            if name not in self.tables:
                return name
        return self.fresh(f"{module}_{noun}_extra")

    def pick_table(self, *, lookup: bool | None = False, module: str | None = None) -> Table:
        pool = [
            t
            for t in self.tables.values()
            if (lookup is None or t.lookup == lookup) and (module is None or t.module == module)
        ]
        if not pool:
            pool = [t for t in self.tables.values() if lookup is None or t.lookup == lookup]
        # Recent tables change more often than old ones.
        weights = [1 + i for i in range(len(pool))]
        return self.rng.choices(pool, weights=weights)[0]

    # -- migration kinds -------------------------------------------------------------------

    def foundation(self) -> list[Migration]:
        """The first migrations of every real project: audit log, shared trigger functions."""
        self.tables["core_audit_log"] = Table(
            "core_audit_log",
            "core",
            {"id": "bigint", "table_name": "text", "operation": "text", "row_data": "jsonb"},
            pinned={"table_name", "operation", "row_data"},  # core_audit_row() writes them
        )
        self.names.update({"core_audit_row", "core_touch_updated_at", "pk_core_audit_log"})
        audit = Migration(
            "create_core_audit_log",
            "core",
            """\
-- Audit trail shared by every module: one row per changed row of an audited table.
CREATE TABLE core_audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY,
    table_name text NOT NULL,
    operation text NOT NULL,
    row_data jsonb,
    changed_by text NOT NULL DEFAULT current_user,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT pk_core_audit_log PRIMARY KEY (id),
    CONSTRAINT ck_core_audit_log_operation CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE'))
);
CREATE INDEX ix_core_audit_log_table_changed ON core_audit_log (table_name, changed_at);
COMMENT ON TABLE core_audit_log IS 'Row changes of audited tables (see core_audit_row())';

CREATE FUNCTION core_audit_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- TG_OP is INSERT, UPDATE or DELETE; keep the row as it is now (or was, for DELETE).
    INSERT INTO core_audit_log (table_name, operation, row_data)
    VALUES (TG_TABLE_NAME, TG_OP,
            CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL; -- AFTER trigger: the result is ignored
END;
$$;
""",
            """\
DROP FUNCTION core_audit_row();
DROP TABLE core_audit_log;
""",
            description="Audit log table and the generic audit trigger function.",
        )
        touch = Migration(
            "create_core_touch_updated_at",
            "core",
            """\
CREATE FUNCTION core_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();  -- only when something changed; 'no-op; updates' keep it
    END IF;
    RETURN NEW;
END;
$fn$;
COMMENT ON FUNCTION core_touch_updated_at() IS 'BEFORE UPDATE trigger: set updated_at';
""",
            "DROP FUNCTION core_touch_updated_at();\n",
            description="Shared BEFORE UPDATE trigger function setting updated_at.",
        )
        return [audit, touch]

    def create_table(self, module: str, nouns: list[str]) -> Migration:
        rng = self.rng
        name = self.new_table_name(module, nouns)
        columns: dict[str, str] = {"id": "bigint"}
        lines = ["    id bigint GENERATED ALWAYS AS IDENTITY"]
        constraints = [f"    CONSTRAINT {self.fresh(f'pk_{name}')} PRIMARY KEY (id)"]
        after: list[str] = []
        parents: list[str] = []
        candidates = [
            t for t in self.tables.values() if not t.lookup and t.name != "core_audit_log"
        ]
        for parent in rng.sample(candidates, k=min(len(candidates), rng.choice([0, 1, 1, 1, 2]))):
            column = f"{singular(parent.name.split('_', 1)[1])}_id"
            if column in columns:
                column = ident(f"{parent.name}_id")
            nullable = rng.random() < 0.3
            columns[column] = "bigint" + ("" if nullable else " NOT NULL")
            lines.append(f"    {column} bigint" + ("" if nullable else " NOT NULL"))
            action = rng.choice(["CASCADE", "RESTRICT", "RESTRICT", "SET NULL" if nullable else ""])
            on_delete = f" ON DELETE {action}" if action else ""
            constraints.append(
                f"    CONSTRAINT {self.fresh(f'fk_{name}_{column}')} FOREIGN KEY ({column}) "
                f"REFERENCES {parent.name} (id){on_delete}"
            )
            after.append(f"CREATE INDEX {self.fresh(f'ix_{name}_{column}')} ON {name} ({column});")
            parents.append(column)
        for column, kind in rng.sample(CREATE_COLUMNS, k=rng.randint(3, 7)):
            columns[column] = kind
            lines.append(f"    {column} {kind}")
        lines.append("    created_at timestamptz NOT NULL DEFAULT now()")
        lines.append("    updated_at timestamptz NOT NULL DEFAULT now()")
        columns["created_at"] = columns["updated_at"] = "timestamptz NOT NULL DEFAULT now()"
        if "code" in columns:
            constraints.append(f"    CONSTRAINT {self.fresh(f'uq_{name}_code')} UNIQUE (code)")
        if "amount" in columns:
            constraints.append(
                f"    CONSTRAINT {self.fresh(f'ck_{name}_amount')} CHECK (amount >= 0)"
            )
        if "starts_on" in columns and "ends_on" in columns:
            constraints.append(
                f"    CONSTRAINT {self.fresh(f'ck_{name}_period')} "
                "CHECK (ends_on IS NULL OR ends_on >= starts_on)"
            )
        if "email" in columns and rng.random() < 0.6:
            after.append(
                f"CREATE UNIQUE INDEX {self.fresh(f'uq_{name}_email')} ON {name} (lower(email)) "
                "WHERE email IS NOT NULL;"
            )
        table = Table(name, module, columns, parents=parents)
        if rng.random() < 0.35:
            table.has_touch = True
            after.append(
                f"CREATE TRIGGER {self.fresh(f'trg_{name}_touch')} BEFORE UPDATE ON {name}\n"
                "    FOR EACH ROW EXECUTE FUNCTION core_touch_updated_at();"
            )
        label = name.replace("_", " ")
        after.append(f"COMMENT ON TABLE {name} IS '{label.capitalize()} ({module} module)';")
        self.tables[name] = table
        up = (
            f"-- {module}: {label}\nCREATE TABLE {name} (\n"
            + ",\n".join(lines + constraints)
            + "\n);\n"
            + "\n".join(after)
            + "\n"
        )
        return Migration(f"create_{name}", module, up, f"DROP TABLE {name};\n")

    def create_lookup(self, module: str, number: int) -> Migration:
        rng = self.rng
        noun = rng.choice(LOOKUP_NOUNS)
        owner = self.pick_table(lookup=False, module=module)
        base = owner.name if owner.module == module else f"{module}_{noun}"
        name = base if base.endswith(noun) else f"{singular(base)}_{noun}"
        if name in self.tables:
            name = self.fresh(name)
        name = ident(name)
        self.tables[name] = Table(
            name,
            module,
            {
                "id": "integer",
                "code": "varchar(40) NOT NULL",
                "label": "text NOT NULL",
                "sort_order": "integer NOT NULL DEFAULT 0",
                "is_active": "boolean NOT NULL DEFAULT true",
            },
            lookup=True,
        )
        values = [f"{singular(noun)}_{i}" for i in range(1, rng.randint(3, 8))]
        rows = ",\n".join(
            f"    ('{code}', '{code.replace('_', ' ').title()}', {10 * i})"
            for i, code in enumerate(values, start=1)
        )
        up = f"""\
CREATE TABLE {name} (
    id integer GENERATED BY DEFAULT AS IDENTITY,
    code varchar(40) NOT NULL,
    label text NOT NULL,
    sort_order integer NOT NULL DEFAULT 0,
    is_active boolean NOT NULL DEFAULT true,
    CONSTRAINT {self.fresh(f"pk_{name}")} PRIMARY KEY (id),
    CONSTRAINT {self.fresh(f"uq_{name}_code")} UNIQUE (code),
    CONSTRAINT {self.fresh(f"ck_{name}_sort_order")} CHECK (sort_order >= 0)
);

INSERT INTO {name} (code, label, sort_order) VALUES
{rows};
"""
        return Migration(f"create_{name}", module, up, f"DROP TABLE {name};\n")

    def seed_data(self, module: str, number: int) -> Migration:
        rng = self.rng
        table = self.pick_table(lookup=True)
        prefix = f"m{number:04d}"
        if rng.random() < 0.5:
            rows = ",\n".join(
                f"    ('{prefix}_{i}', 'Imported value {i} (it''s; fine)', {i})"
                for i in range(1, rng.randint(4, 12))
            )
            up = (
                f"-- Reference data for {table.name}\n"
                f"INSERT INTO {table.name} (code, label, sort_order) VALUES\n{rows};\n"
            )
        else:
            n = rng.choice([50, 200, 500, 1000])
            up = (
                f"INSERT INTO {table.name} (code, label, sort_order, is_active)\n"
                f"SELECT '{prefix}_' || g, 'Generated ' || g, g, g % 7 <> 0\n"
                f"FROM generate_series(1, {n}) AS g;\n"
            )
        if rng.random() < 0.3:
            up += f"UPDATE {table.name} SET is_active = false WHERE code = '{prefix}_3';\n"
        down = f"DELETE FROM {table.name} WHERE code LIKE '{prefix}\\_%';\n"
        return Migration(f"seed_{table.name}", module, up, down)

    def add_columns(self, module: str) -> Migration:
        rng = self.rng
        table = self.pick_table(lookup=None)
        free = [(c, t) for c, t in ADD_COLUMNS if c not in table.columns]
        chosen = rng.sample(free, k=min(len(free), rng.randint(1, 3)))
        if not chosen:
            return self.create_index(module)
        up, down = [], []
        for column, kind in chosen:
            table.columns[column] = kind
            up.append(f"ALTER TABLE {table.name} ADD COLUMN {column} {kind};")
            if rng.random() < 0.3:
                up.append(f"COMMENT ON COLUMN {table.name}.{column} IS 'Added in {module}';")
            down.append(f"ALTER TABLE {table.name} DROP COLUMN {column};")
        slug = f"add_{'_'.join(c for c, _ in chosen[:2])}_to_{table.name}"
        return Migration(slug, module, "\n".join(up) + "\n", "\n".join(reversed(down)) + "\n")

    def add_constraint(self, module: str) -> Migration:
        rng = self.rng
        table = self.pick_table(lookup=False)
        choice = rng.random()
        parents = [t for t in self.tables.values() if not t.lookup and t.name not in (table.name,)]
        if choice < 0.4 and parents:
            # The zero-downtime way to add a foreign key to a big table.
            parent = rng.choice(parents)
            column = ident(f"{singular(parent.name.split('_', 1)[1])}_ref_id")
            if column in table.columns:
                column = ident(f"{parent.name}_ref_id")
            if column in table.columns:
                return self.add_columns(module)
            fk = self.fresh(f"fk_{table.name}_{column}")
            ix = self.fresh(f"ix_{table.name}_{column}")
            table.columns[column] = "bigint"
            up = f"""\
ALTER TABLE {table.name} ADD COLUMN {column} bigint;
ALTER TABLE {table.name} ADD CONSTRAINT {fk}
    FOREIGN KEY ({column}) REFERENCES {parent.name} (id) NOT VALID;
ALTER TABLE {table.name} VALIDATE CONSTRAINT {fk};
CREATE INDEX {ix} ON {table.name} ({column});
"""
            down = f"""\
DROP INDEX {ix};
ALTER TABLE {table.name} DROP CONSTRAINT {fk};
ALTER TABLE {table.name} DROP COLUMN {column};
"""
            return Migration(f"link_{table.name}_to_{parent.name}", module, up, down)
        numeric = table.numeric()
        if choice < 0.75 and numeric:
            column = rng.choice(numeric)
            name = self.fresh(f"ck_{table.name}_{column}_range")
            limit = rng.choice([100, 1000, 1000000])
            up = (
                f"ALTER TABLE {table.name} ADD CONSTRAINT {name}\n"
                f"    CHECK ({column} IS NULL OR ({column} >= 0 AND {column} <= {limit}));\n"
            )
            down = f"ALTER TABLE {table.name} DROP CONSTRAINT {name};\n"
            return Migration(f"check_{table.name}_{column}", module, up, down)
        plain = [c for c in table.plain() if c not in table.parents]
        if not plain:
            return self.add_columns(module)
        cols = rng.sample(plain, k=min(len(plain), 2))
        name = self.fresh(f"uq_{table.name}_{'_'.join(cols)}")
        up = f"ALTER TABLE {table.name} ADD CONSTRAINT {name} UNIQUE ({', '.join(cols)});\n"
        down = f"ALTER TABLE {table.name} DROP CONSTRAINT {name};\n"
        return Migration(f"unique_{table.name}_{'_'.join(cols)}", module, up, down)

    def index_definition(self, table: Table) -> tuple[str, str]:
        """``(name, "ON table ...")`` for a realistic index on ``table``."""
        rng = self.rng
        jsonb = [c for c, t in table.columns.items() if t.startswith("jsonb")]
        plain = table.plain()
        roll = rng.random()
        if roll < 0.15 and jsonb:
            column = rng.choice(jsonb)
            return self.fresh(
                f"ix_{table.name}_{column}_gin"
            ), f"ON {table.name} USING gin ({column})"
        if roll < 0.35 and "is_active" in table.columns and plain:
            column = rng.choice(plain)
            return (
                self.fresh(f"ix_{table.name}_{column}_active"),
                f"ON {table.name} ({column}) WHERE is_active",
            )
        cols = rng.sample(plain, k=min(len(plain), rng.choice([1, 1, 2])))
        if not cols:
            cols = ["id"]
        if "created_at" in table.columns and cols[0] != "created_at" and rng.random() < 0.3:
            cols = [*cols[:1], "created_at DESC"]
        suffix = "_".join(c.split()[0] for c in cols)
        return self.fresh(f"ix_{table.name}_{suffix}"), f"ON {table.name} ({', '.join(cols)})"

    def create_index(self, module: str) -> Migration:
        table = self.pick_table(lookup=None)
        name, target = self.index_definition(table)
        return Migration(
            f"index_{table.name}",
            module,
            f"CREATE INDEX {name} {target};\n",
            f"DROP INDEX {name};\n",
        )

    def concurrent_index(self, module: str) -> Migration:
        table = self.pick_table(lookup=False)
        ups, downs = [], []
        for _ in range(self.rng.choice([1, 1, 2])):
            name, target = self.index_definition(table)
            ups.append(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {target};")
            downs.append(f"DROP INDEX CONCURRENTLY IF EXISTS {name};")
        return Migration(
            f"index_{table.name}_concurrently",
            module,
            "-- Built without blocking writes: runs outside a transaction.\n"
            + "\n".join(ups)
            + "\n",
            "\n".join(reversed(downs)) + "\n",
            transactional=False,
        )

    def function(self, module: str) -> Migration:
        rng = self.rng
        table = self.pick_table(lookup=False)
        numeric = table.numeric() or ["id"]
        column = rng.choice(numeric)
        key = table.parents[0] if table.parents else "id"
        verb = rng.choice(["total", "count", "average", "max"])
        fname = self.fresh(f"{table.name}_{verb}_{column}")
        aggregate = {"total": "sum", "count": "count", "average": "avg", "max": "max"}[verb]
        tag = rng.choice(["$$", "$$", "$body$"])
        body = f"""\
CREATE OR REPLACE FUNCTION {fname}(p_key bigint, p_since timestamptz DEFAULT NULL)
RETURNS numeric
LANGUAGE plpgsql STABLE AS {tag}
DECLARE
    v_result numeric := 0;
    v_rows integer;
BEGIN
    IF p_key IS NULL THEN
        RAISE EXCEPTION 'p_key must not be null; got %', p_key USING ERRCODE = '22004';
    END IF;
    SELECT coalesce({aggregate}({column}), 0), count(*) INTO v_result, v_rows
    FROM {table.name}
    WHERE {key} = p_key
      AND (p_since IS NULL OR created_at >= p_since);
    IF v_rows = 0 THEN
        RAISE NOTICE 'no rows in {table.name} for %; returning 0', p_key;
    END IF;
    RETURN v_result;
END;
{tag};
"""
        signature = f"{fname}(bigint, timestamptz)"
        self.functions[signature] = (signature, body)
        up = f"-- {verb} of {table.name}.{column} per {key}\n{body}"
        if rng.random() < 0.4:
            up += f"COMMENT ON FUNCTION {signature} IS '{verb.capitalize()} of {column}';\n"
        return Migration(f"function_{fname}", module, up, f"DROP FUNCTION {signature};\n")

    def replace_function(self, module: str) -> Migration:
        """CREATE OR REPLACE an existing function; the rollback restores the old body."""
        signature = self.rng.choice(sorted(self.functions))
        _, old = self.functions[signature]
        if "    RETURN v_result;" in old:
            new = old.replace(
                "    RETURN v_result;",
                "    -- v2: never negative; rounded for display\n"
                "    RETURN round(greatest(v_result, 0), 2);",
                1,
            )
        elif "PARALLEL SAFE" not in old:
            new = old.replace("LANGUAGE plpgsql STABLE", "LANGUAGE plpgsql STABLE PARALLEL SAFE", 1)
        else:
            new = old.replace("RAISE NOTICE", "RAISE DEBUG", 1)
        self.functions[signature] = (signature, new)
        name = signature.split("(")[0]
        return Migration(f"replace_{name}", module, new, old)

    def trigger(self, module: str) -> Migration:
        rng = self.rng
        candidates = [t for t in self.tables.values() if t.name != "core_audit_log"]
        untouched = [t for t in candidates if not t.has_audit]
        table = rng.choice(untouched or candidates)
        if not table.has_audit and rng.random() < 0.5:
            table.has_audit = True
            name = self.fresh(f"trg_{table.name}_audit")
            up = (
                f"CREATE TRIGGER {name}\n"
                f"    AFTER INSERT OR UPDATE OR DELETE ON {table.name}\n"
                "    FOR EACH ROW EXECUTE FUNCTION core_audit_row();\n"
            )
            return Migration(
                f"audit_{table.name}", module, up, f"DROP TRIGGER {name} ON {table.name};\n"
            )
        # A table-specific validation trigger with its own function.
        fname = self.fresh(f"{table.name}_check_row")
        tname = self.fresh(f"trg_{table.name}_check_row")
        text_cols = [c for c, t in table.columns.items() if t.startswith(("text", "varchar"))]
        checks = []
        for column in text_cols[:2]:
            checks.append(
                f"    IF NEW.{column} IS NOT NULL THEN\n"
                f"        NEW.{column} := btrim(NEW.{column});\n"
                f"        IF NEW.{column} = '' THEN\n"
                f"            RAISE EXCEPTION '{table.name}.{column} must not be blank';\n"
                "        END IF;\n"
                "    END IF;"
            )
        if not checks:
            checks.append("    NULL; -- nothing to normalise yet")
        up = f"""\
CREATE FUNCTION {fname}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
{chr(10).join(checks)}
    RETURN NEW;
END;
$$;

CREATE TRIGGER {tname}
    BEFORE INSERT OR UPDATE ON {table.name}
    FOR EACH ROW EXECUTE FUNCTION {fname}();
"""
        down = f"DROP TRIGGER {tname} ON {table.name};\nDROP FUNCTION {fname}();\n"
        return Migration(f"check_rows_of_{table.name}", module, up, down)

    def view(self, module: str) -> Migration:
        rng = self.rng
        linked = [t for t in self.tables.values() if t.parents and not t.lookup]
        if linked and rng.random() < 0.6:
            table = rng.choice(linked)
            fk = rng.choice(table.parents)
            parent = self.find_parent(table, fk)
            cols = [c for c in table.plain() if c not in table.parents][:3] or ["id"]
            pcols = [c for c in parent.plain() if c not in parent.parents][:2] or ["id"]
            name = self.fresh(f"v_{table.name}_with_{parent.name.split('_', 1)[1]}")
            select = ",\n    ".join(
                ["t.id"]
                + [f"t.{c}" for c in cols if c != "id"]
                + [f"p.{c} AS {singular(parent.name.split('_', 1)[1])}_{c}" for c in pcols]
            )
            text = (
                f"CREATE VIEW {name} AS\nSELECT\n    {select}\nFROM {table.name} AS t\n"
                f"LEFT JOIN {parent.name} AS p ON p.id = t.{fk};\n"
            )
            table.pinned.update(cols + [fk])
            parent.pinned.update(pcols)
        else:
            table = self.pick_table(lookup=None)
            numeric = [c for c in table.numeric() if c != "id"]
            name = self.fresh(f"v_{table.name}_summary")
            measures = ",\n    ".join(
                ["count(*) AS row_count"] + [f"sum({c}) AS total_{c}" for c in numeric[:2]]
            )
            group = table.parents[0] if table.parents else "date_trunc('month', created_at)"
            if "created_at" not in table.columns and not table.parents:
                group = "true"
            text = (
                f"CREATE VIEW {name} AS\nSELECT\n    {group} AS bucket,\n    {measures}\n"
                f"FROM {table.name}\nGROUP BY 1;\n"
            )
            table.pinned.update(numeric[:2] + table.parents[:1])
        up = text + f"COMMENT ON VIEW {name} IS 'Reporting view ({module})';\n"
        self.views[name] = up
        return Migration(f"view_{name}", module, up, f"DROP VIEW {name};\n")

    def replace_view(self, module: str) -> Migration:
        """Redefine a view; the rollback drops it and restores the previous definition."""
        name = self.rng.choice(sorted(self.views))
        old = self.views[name]
        extra = [
            e
            for e in ("now() AS refreshed_at", "current_user AS read_by", "1 AS shape_version")
            if e.split(" AS ")[1] not in old
        ]
        if not extra:
            return self.view(module)
        new = old.replace(f"CREATE VIEW {name}", f"CREATE OR REPLACE VIEW {name}", 1)
        new = new.replace("\nFROM ", f",\n    {extra[0]}\nFROM ", 1)
        new = new[: new.index(";\n") + 2]  # the view only: its comment stays as it is
        self.views[name] = (
            new.replace("CREATE OR REPLACE VIEW", "CREATE VIEW", 1) + old[old.index(";\n") + 2 :]
        )
        return Migration(f"replace_{name}", module, new, f"DROP VIEW {name};\n{old}")

    def find_parent(self, table: Table, fk: str) -> Table:
        # Recover the parent from the constraint name we generated (fk_<table>_<column>).
        for parent in self.tables.values():
            stem = parent.name.split("_", 1)[1] if "_" in parent.name else parent.name
            if fk in (f"{singular(stem)}_id", ident(f"{parent.name}_id")):
                return parent
        return table

    def enum_column(self, module: str) -> Migration:
        rng = self.rng
        table = self.pick_table(lookup=False)
        values = rng.choice(ENUM_VALUES)
        kind = rng.choice(["status", "priority_level", "state", "channel", "cadence"])
        type_name = self.fresh(f"{table.name}_{kind}")
        column = kind if kind not in table.columns else f"{kind}_2"
        if column in table.columns:
            return self.add_columns(module)
        table.columns[column] = type_name
        literals = ", ".join(f"'{v}'" for v in values)
        up = (
            f"CREATE TYPE {type_name} AS ENUM ({literals});\n"
            f"ALTER TABLE {table.name} ADD COLUMN {column} {type_name} "
            f"NOT NULL DEFAULT '{values[0]}';\n"
            f"CREATE INDEX {self.fresh(f'ix_{table.name}_{column}')} ON {table.name} ({column});\n"
        )
        down = f"ALTER TABLE {table.name} DROP COLUMN {column};\nDROP TYPE {type_name};\n"
        return Migration(f"{kind}_enum_for_{table.name}", module, up, down)

    def rename_column(self, module: str) -> Migration:
        table = self.pick_table(lookup=False)
        movable = [
            c
            for c in table.plain()
            if c not in table.pinned
            and c not in table.parents
            and c not in ("created_at",)
            and c != "updated_at"
        ]
        if not movable:
            return self.add_columns(module)
        old = self.rng.choice(movable)
        new = ident(f"{old}_old" if self.rng.random() < 0.3 else f"{singular(old)}_value")
        if new in table.columns:
            return self.add_columns(module)
        kind = table.columns.pop(old)
        table.columns[new] = kind
        return Migration(
            f"rename_{table.name}_{old}",
            module,
            f"ALTER TABLE {table.name} RENAME COLUMN {old} TO {new};\n",
            f"ALTER TABLE {table.name} RENAME COLUMN {new} TO {old};\n",
        )

    # -- the whole project -------------------------------------------------------------------

    def build(self) -> list[Migration]:
        rng = self.rng
        migrations = self.foundation()
        per_phase = max(1, (self.count - len(migrations)) // len(MODULES))
        # A few non-transactional migrations, spread over the history.
        concurrent_at = set(range(24, self.count, 25))
        number = len(migrations)
        for index, (module, nouns) in enumerate(MODULES):
            last = index == len(MODULES) - 1
            target = self.count if last else number + per_phase
            first_in_phase = True
            while number < target:
                position = number + 1
                if first_in_phase or len(self.tables) < 4:
                    migration = self.create_table(module, nouns)
                    first_in_phase = False
                elif position in concurrent_at:
                    migration = self.concurrent_index(module)
                else:
                    kind = rng.choices(
                        [
                            "table",
                            "lookup",
                            "seed",
                            "columns",
                            "constraint",
                            "index",
                            "function",
                            "replace_function",
                            "trigger",
                            "view",
                            "replace_view",
                            "enum",
                            "rename",
                        ],
                        weights=[20, 5, 7, 14, 9, 9, 7, 3, 8, 6, 2, 4, 3],
                    )[0]
                    lookups = any(t.lookup for t in self.tables.values())
                    if kind == "seed" and not lookups:
                        kind = "lookup"
                    if kind == "replace_function" and not self.functions:
                        kind = "function"
                    if kind == "replace_view" and not self.views:
                        kind = "view"
                    migration = {
                        "table": lambda m=module, n=nouns: self.create_table(m, n),
                        "lookup": lambda m=module, p=position: self.create_lookup(m, p),
                        "seed": lambda m=module, p=position: self.seed_data(m, p),
                        "columns": lambda m=module: self.add_columns(m),
                        "constraint": lambda m=module: self.add_constraint(m),
                        "index": lambda m=module: self.create_index(m),
                        "function": lambda m=module: self.function(m),
                        "replace_function": lambda m=module: self.replace_function(m),
                        "trigger": lambda m=module: self.trigger(m),
                        "view": lambda m=module: self.view(m),
                        "replace_view": lambda m=module: self.replace_view(m),
                        "enum": lambda m=module: self.enum_column(m),
                        "rename": lambda m=module: self.rename_column(m),
                    }[kind]()
                migration.phase = module
                migrations.append(migration)
                number += 1
        return migrations


def slugify(text: str, limit: int = 60) -> str:
    slug = "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_")
    while "__" in slug:
        slug = slug.replace("__", "_")
    return slug[:limit].rstrip("_")


def write(project: Path, migrations: list[Migration]) -> None:
    for folder in ("migrations/versions", "sql", "rollbacks", "validations"):
        (project / folder).mkdir(parents=True, exist_ok=True)
    previous = None
    for number, migration in enumerate(migrations, start=1):
        revision = f"{number:04d}"
        name = f"{revision}_{slugify(migration.slug)}"
        description = migration.description or migration.slug.replace("_", " ").capitalize() + "."
        options = "" if migration.transactional else "transactional = False\n"
        (project / "migrations" / "versions" / f"{name}.py").write_text(
            REVISION_TEMPLATE.format(
                description=description,
                revision=revision,
                down=repr(previous),
                phase=migration.phase,
                options=options,
            )
        )
        (project / "sql" / f"{name}.sql").write_text(migration.up)
        (project / "rollbacks" / f"{name}.sql").write_text(migration.down)
        previous = revision


def generate(project: Path, count: int = 300, seed: int = 20240601) -> list[Migration]:
    """Write a fresh project of ``count`` migrations into ``project`` (emptied first)."""
    if count < len(MODULES) + 2:
        raise ValueError(f"count must be at least {len(MODULES) + 2}")
    project = Path(project)
    for folder in ("migrations", "sql", "rollbacks", "validations"):
        shutil.rmtree(project / folder, ignore_errors=True)
    migrations = Generator(count, seed).build()
    write(project, migrations)
    return migrations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="project directory to (re)write")
    parser.add_argument("--count", type=int, default=300, help="number of migrations (300)")
    parser.add_argument("--seed", type=int, default=20240601, help="random seed")
    args = parser.parse_args(argv)
    migrations = generate(args.output, args.count, args.seed)
    statements = sum(m.up.count(";\n") for m in migrations)
    non_tx = sum(not m.transactional for m in migrations)
    print(
        f"wrote {len(migrations)} migrations ({non_tx} non-transactional, "
        f"~{statements} statements) to {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
