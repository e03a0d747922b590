"""Catalog snapshots: equal for databases built the same way, different for any single change."""

from __future__ import annotations

import contextlib
import json

import psycopg
import pytest

from dbkit.compare.catalog import Difference, Snapshot, diff, format_differences, snapshot

SCHEMA = """\
CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'application objects';
CREATE TYPE app.order_status AS ENUM ('new', 'paid', 'shipped');
CREATE TYPE app.priority AS ENUM ('low', 'normal', 'high');
CREATE DOMAIN app.email AS text CONSTRAINT ck_email_at CHECK (VALUE LIKE '%@%');
CREATE TYPE app.money_pair AS (amount numeric(12, 2), currency char(3));
CREATE SEQUENCE app.invoice_seq START 100;
CREATE TABLE app.accounts (
    id bigint GENERATED ALWAYS AS IDENTITY,
    email app.email NOT NULL,
    name text COLLATE "C",
    CONSTRAINT pk_accounts PRIMARY KEY (id)
);
CREATE TABLE app.orders (
    id bigint GENERATED ALWAYS AS IDENTITY,
    account_id bigint NOT NULL,
    ref text,
    status app.order_status NOT NULL DEFAULT 'new',
    total numeric(12, 2) NOT NULL,
    total_cents bigint GENERATED ALWAYS AS ((total * 100)::bigint) STORED,
    note text,
    updated_at timestamptz,
    CONSTRAINT pk_orders PRIMARY KEY (id),
    CONSTRAINT fk_orders_account FOREIGN KEY (account_id) REFERENCES app.accounts (id),
    CONSTRAINT ck_orders_total CHECK (total >= 0)
);
CREATE INDEX ix_orders_account ON app.orders (account_id);
CREATE UNIQUE INDEX ux_orders_ref ON app.orders (ref);
CREATE INDEX ix_orders_open ON app.orders (status) WHERE status <> 'shipped';
COMMENT ON TABLE app.orders IS 'one row per order';
COMMENT ON COLUMN app.orders.note IS 'free text';
CREATE VIEW app.open_orders AS SELECT id, total FROM app.orders WHERE status <> 'shipped';
CREATE MATERIALIZED VIEW app.order_totals AS
    SELECT account_id, sum(total) AS total FROM app.orders GROUP BY account_id;
CREATE UNIQUE INDEX ux_order_totals ON app.order_totals (account_id);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
CREATE FUNCTION app.order_count(p_account bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT count(*) FROM app.orders WHERE account_id = p_account $$;
CREATE PROCEDURE app.purge() LANGUAGE sql AS $$ DELETE FROM app.orders WHERE total = 0 $$;
CREATE TRIGGER trg_orders_touch BEFORE UPDATE ON app.orders
    FOR EACH ROW EXECUTE FUNCTION app.touch();
ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY pol_orders_owner ON app.orders USING (account_id > 0);
GRANT USAGE ON SCHEMA app TO PUBLIC;
GRANT SELECT ON app.open_orders TO PUBLIC;
REVOKE EXECUTE ON FUNCTION app.order_count(bigint) FROM PUBLIC;
"""


def build(url: str, sql: str = SCHEMA) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def snap(url: str, **kwargs) -> Snapshot:
    with psycopg.connect(url, autocommit=True) as conn:
        return snapshot(conn, **kwargs)


@pytest.fixture(scope="module")
def reference(pg_server):
    """A database built from SCHEMA once per module, and its snapshot."""
    name = pg_server.create_database()
    build(pg_server.url(name))
    yield name, snap(pg_server.url(name))
    pg_server.drop_database(name)


@pytest.fixture
def built(pg_server, reference, make_db):
    """A database built from SCHEMA on its own, a clone of the reference, and the reference's
    snapshot: the clone is what each test changes."""
    name, before = reference
    clone = f"{name}_clone"
    pg_server._execute(f'CREATE DATABASE "{clone}" TEMPLATE "{name}"')
    try:
        yield pg_server.url(name), pg_server.url(clone), before
    finally:
        pg_server.drop_database(clone)


@pytest.mark.smoke
def test_two_databases_built_the_same_way_have_identical_snapshots(reference, db_url):
    _, before = reference
    second = db_url
    build(second)
    with psycopg.connect(second, autocommit=True) as conn:
        conn.execute("SELECT nextval('app.invoice_seq')")  # current values are not schema
        conn.execute("INSERT INTO app.accounts (email) VALUES ('a@example.com')")
        conn.execute("SET search_path = app")  # the session's path does not leak in
    other = snap(second)
    assert diff(before, other) == []
    assert before == other
    assert json.dumps(before.to_dict(), sort_keys=True) == json.dumps(
        other.to_dict(), sort_keys=True
    )
    assert Snapshot.from_dict(json.loads(before.to_json())) == before


def test_snapshot_describes_the_objects(built):
    _, _, shot = built
    objects = shot.objects
    assert objects["types"]["app.order_status"]["values"] == ["new", "paid", "shipped"]
    assert objects["types"]["app.email"]["kind"] == "domain"
    assert objects["types"]["app.money_pair"]["attributes"] == [
        "amount numeric(12,2)",
        "currency character(3)",
    ]
    column = objects["columns"]["app.orders.status"]
    assert column["type"] == "app.order_status"
    assert column["default"] == "'new'::app.order_status"
    assert column["not_null"] is True
    assert objects["columns"]["app.orders.id"]["identity"] == "always"
    assert objects["columns"]["app.orders.total_cents"]["generated"].endswith("STORED")
    assert objects["columns"]["app.accounts.name"]["collation"] == '"C"'
    assert objects["tables"]["app.orders"]["row_security"] is True
    assert objects["indexes"]["app.ix_orders_account"]["valid"] is True
    assert "app.order_count(p_account bigint)" in objects["functions"]
    assert objects["functions"]["app.order_count(p_account bigint)"]["acl"] == ["OWNER EXECUTE"]
    assert objects["functions"]["app.purge()"]["kind"] == "procedure"
    assert "PUBLIC SELECT" in objects["views"]["app.open_orders"]["acl"]
    assert objects["sequences"]["app.orders_id_seq"]["owned_by"] == "app.orders.id (identity)"
    assert objects["comments"]["column app.orders.note"]["text"] == "free text"
    assert objects["policies"]["app.orders.pol_orders_owner"]["command"] == "ALL"


def test_registry_version_table_and_extension_members_are_left_out(db_url):
    build(
        db_url,
        "CREATE SCHEMA dbkit; CREATE TABLE dbkit.history (id int);"
        "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL,"
        " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));"
        "CREATE EXTENSION pg_trgm;",
    )
    shot = snap(db_url)
    assert shot.objects["schemas"] == {"public": shot.objects["schemas"]["public"]}
    assert shot.objects["extensions"]["pg_trgm"]["schema"] == "public"
    for category in ("tables", "columns", "constraints", "indexes", "functions", "types"):
        assert shot.objects[category] == {}, category
    assert "dbkit" in snap(db_url, exclude_schemas=()).objects["schemas"]


def test_grant_then_revoke_is_no_difference(built):
    _, second, before = built
    build(second, "GRANT INSERT ON app.orders TO PUBLIC; REVOKE INSERT ON app.orders FROM PUBLIC;")
    assert diff(before, snap(second)) == []


# One single-object change each, and the difference line that must name it.
CHANGES = {
    "column type": (
        "ALTER TABLE app.orders ALTER COLUMN note TYPE varchar(200)",
        "column app.orders.note: type changed from text to character varying(200)",
    ),
    "column default": (
        "ALTER TABLE app.orders ALTER COLUMN status SET DEFAULT 'paid'",
        "column app.orders.status: default changed from 'new'::app.order_status "
        "to 'paid'::app.order_status",
    ),
    "nullability": (
        "ALTER TABLE app.orders ALTER COLUMN note SET NOT NULL",
        "column app.orders.note: not_null changed from false to true",
    ),
    "column added": (
        "ALTER TABLE app.orders ADD COLUMN extra int",
        "column app.orders.extra: extra",
    ),
    "column order": (
        "ALTER TABLE app.orders DROP COLUMN ref; ALTER TABLE app.orders ADD COLUMN ref text;"
        "CREATE UNIQUE INDEX ux_orders_ref ON app.orders (ref);",
        "column app.orders.ref: position changed from 3 to 8",
    ),
    "constraint": (
        "ALTER TABLE app.orders DROP CONSTRAINT ck_orders_total",
        "constraint app.orders.ck_orders_total: missing",
    ),
    "constraint definition": (
        "ALTER TABLE app.orders DROP CONSTRAINT ck_orders_total;"
        "ALTER TABLE app.orders ADD CONSTRAINT ck_orders_total CHECK (total > 0)",
        "constraint app.orders.ck_orders_total: definition changed from CHECK (total >= 0::numeric)"
        " to CHECK (total > 0::numeric)",
    ),
    "index": (
        "DROP INDEX app.ix_orders_account",
        "index app.ix_orders_account: missing",
    ),
    "index validity": (
        [
            "DROP INDEX app.ux_orders_ref",
            "INSERT INTO app.accounts (email) VALUES ('a@b')",
            "INSERT INTO app.orders (account_id, ref, total) "
            "SELECT id, 'dup', 1 FROM app.accounts CROSS JOIN generate_series(1, 2)",
            "CREATE UNIQUE INDEX CONCURRENTLY ux_orders_ref ON app.orders (ref)",
        ],
        "index app.ux_orders_ref: valid changed from true to false",
    ),
    "view body": (
        "CREATE OR REPLACE VIEW app.open_orders AS "
        "SELECT id, total FROM app.orders WHERE status = 'new'",
        "view app.open_orders: definition changed",
    ),
    "function body": (
        "CREATE OR REPLACE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n    NEW.updated_at := clock_timestamp();\n    RETURN NEW;\nEND;\n$$",
        "function app.touch(): definition changed",
    ),
    "trigger": (
        "DROP TRIGGER trg_orders_touch ON app.orders;"
        "CREATE TRIGGER trg_orders_touch BEFORE INSERT OR UPDATE ON app.orders "
        "FOR EACH ROW EXECUTE FUNCTION app.touch()",
        "trigger app.orders.trg_orders_touch: definition changed from CREATE TRIGGER "
        "trg_orders_touch BEFORE UPDATE ON app.orders FOR EACH ROW EXECUTE FUNCTION app.touch() "
        "to CREATE TRIGGER trg_orders_touch BEFORE INSERT OR UPDATE ON app.orders FOR EACH ROW "
        "EXECUTE FUNCTION app.touch()",
    ),
    "enum value order": (
        "DROP TYPE app.priority; CREATE TYPE app.priority AS ENUM ('low', 'high', 'normal')",
        "type app.priority: values changed: order changed from "
        '["low", "normal", "high"] to ["low", "high", "normal"]',
    ),
    "enum value added": (
        "ALTER TYPE app.order_status ADD VALUE 'refunded'",
        "type app.order_status: values changed: gained refunded",
    ),
    "domain": (
        "ALTER DOMAIN app.email ADD CONSTRAINT ck_email_len CHECK (length(VALUE) < 200)",
        "type app.email: constraints changed: gained ck_email_len CHECK (length(VALUE) < 200)",
    ),
    "composite type": (
        "ALTER TYPE app.money_pair ADD ATTRIBUTE rate numeric",
        "type app.money_pair: attributes changed: gained rate numeric",
    ),
    "sequence": (
        "ALTER SEQUENCE app.invoice_seq INCREMENT BY 5",
        "sequence app.invoice_seq: increment changed from 1 to 5",
    ),
    "policy": (
        "DROP POLICY pol_orders_owner ON app.orders",
        "policy app.orders.pol_orders_owner: missing",
    ),
    "policy expression": (
        "ALTER POLICY pol_orders_owner ON app.orders USING (account_id > 1)",
        "policy app.orders.pol_orders_owner: using changed from (account_id > 0) "
        "to (account_id > 1)",
    ),
    "RLS flag": (
        "ALTER TABLE app.orders DISABLE ROW LEVEL SECURITY",
        "table app.orders: row_security changed from true to false",
    ),
    "forced RLS": (
        "ALTER TABLE app.orders FORCE ROW LEVEL SECURITY",
        "table app.orders: force_row_security changed from false to true",
    ),
    "extension": (
        "CREATE EXTENSION pg_trgm",
        "extension pg_trgm: extra",
    ),
    "grant": (
        "GRANT SELECT, UPDATE ON app.orders TO PUBLIC",
        "table app.orders: acl changed: gained PUBLIC SELECT, PUBLIC UPDATE",
    ),
    "revoke": (
        "REVOKE SELECT ON app.open_orders FROM PUBLIC",
        "view app.open_orders: acl changed: lost PUBLIC SELECT",
    ),
    "function grant": (
        "GRANT EXECUTE ON FUNCTION app.order_count(bigint) TO PUBLIC",
        "function app.order_count(p_account bigint): acl changed: gained PUBLIC EXECUTE",
    ),
    "comment": (
        "COMMENT ON COLUMN app.orders.note IS 'customer note'",
        "comment column app.orders.note: text changed from free text to customer note",
    ),
    "comment removed": (
        "COMMENT ON TABLE app.orders IS NULL",
        "comment table app.orders: missing",
    ),
    "materialized view": (
        "DROP MATERIALIZED VIEW app.order_totals",
        "view app.order_totals: missing",
    ),
    "procedure": (
        "DROP PROCEDURE app.purge()",
        "function app.purge(): missing",
    ),
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_each_single_change_is_a_difference(built, change):
    _, second, before = built
    statements, expected = CHANGES[change]
    with psycopg.connect(second, autocommit=True) as conn:
        for statement in [statements] if isinstance(statements, str) else statements:
            # A failed concurrent build leaves its invalid index behind.
            with contextlib.suppress(psycopg.errors.UniqueViolation):
                conn.execute(statement)
    differences = diff(before, snap(second))
    lines = [str(d) for d in differences]
    assert expected in lines, lines
    assert all(isinstance(d, Difference) for d in differences)


@pytest.mark.smoke
def test_changed_function_shows_a_readable_body_diff(built):
    _, second, before = built
    build(second, CHANGES["function body"][0])
    text = format_differences(diff(before, snap(second)))
    assert text.splitlines()[0] == "function app.touch(): definition changed"
    assert "-    NEW.updated_at := now();" in text
    assert "+    NEW.updated_at := clock_timestamp();" in text


def test_difference_json_and_direction(built):
    _, second, before = built
    build(second, "DROP INDEX app.ix_orders_account; CREATE INDEX ix_new ON app.orders (note)")
    after = snap(second)
    assert [str(d) for d in diff(before, after) if d.category == "indexes"] == [
        "index app.ix_new: extra",
        "index app.ix_orders_account: missing",
    ]
    assert [str(d) for d in diff(after, before) if d.category == "indexes"] == [
        "index app.ix_new: missing",
        "index app.ix_orders_account: extra",
    ]
    data = diff(before, after)[0].to_dict()
    assert set(data) == {
        "category",
        "object",
        "kind",
        "attribute",
        "expected",
        "actual",
        "difference_kind",
        "message",
    }
    assert data["difference_kind"] == "schema"
    json.dumps(data)
