"""Build small dbkit projects on disk for engine tests, independent of the unified schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REVISION_TEMPLATE = '''"""{description}"""
from dbkit.revision import sql_pair

revision = "{revision}"
down_revision = {down}
phase = "{phase}"
{options}upgrade, downgrade = sql_pair(__file__)
'''


@dataclass
class Spec:
    slug: str
    phase: str
    up: str
    down: str
    options: str = ""  # extra literal lines, e.g. 'transactional = False\n'


def write_project(root: Path, specs: list[Spec]) -> Path:
    """Write the migrations in order (0001, 0002, ...) and return the project directory."""
    for folder in ("migrations/versions", "sql", "rollbacks", "validations"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    previous = None
    for number, spec in enumerate(specs, start=1):
        revision = f"{number:04d}"
        name = f"{revision}_{spec.slug}"
        (root / "migrations" / "versions" / f"{name}.py").write_text(
            REVISION_TEMPLATE.format(
                description=spec.slug.replace("_", " ").capitalize() + ".",
                revision=revision,
                down=repr(previous),
                phase=spec.phase,
                options=spec.options,
            )
        )
        (root / "sql" / f"{name}.sql").write_text(spec.up)
        (root / "rollbacks" / f"{name}.sql").write_text(spec.down)
        previous = revision
    return root


ACCOUNTS = Spec(
    "accounts",
    "core",
    """\
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY,
    email text NOT NULL,
    note text DEFAULT '100% sure: yes',
    CONSTRAINT pk_accounts PRIMARY KEY (id)
);

CREATE FUNCTION accounts_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.email := lower(NEW.email); -- a semicolon inside a body
    RETURN NEW;
END;
$$;

CREATE TRIGGER trg_accounts_touch BEFORE INSERT ON accounts
FOR EACH ROW EXECUTE FUNCTION accounts_touch();
""",
    """\
DROP TRIGGER trg_accounts_touch ON accounts;
DROP FUNCTION accounts_touch();
DROP TABLE accounts;
""",
)

ORDERS = Spec(
    "orders",
    "core",
    """\
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY,
    account_id bigint NOT NULL,
    total numeric(12, 2) NOT NULL,
    CONSTRAINT pk_orders PRIMARY KEY (id),
    CONSTRAINT fk_orders_account FOREIGN KEY (account_id) REFERENCES accounts (id)
);
""",
    "DROP TABLE orders;\n",
)

ORDERS_INDEX = Spec(
    "orders_index",
    "perf",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_account ON orders (account_id);\n",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_orders_account;\n",
    "transactional = False\n",
)

BASIC = [ACCOUNTS, ORDERS, ORDERS_INDEX]
