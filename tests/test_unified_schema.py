"""The unified schema (sql/, rollbacks/, validations/) through the library API, on real PostgreSQL.

Covers issue 3's test list: the round trip to base and per phase restores the catalog
exactly; the seed mapping names only objects the migrated database holds; the seeds' own
queries run; and, with data, the free tier and its exact rollback, updated_at, synthetic
cleanup, retention, row-level security, archiving, audit trails, notifications and the
materialized views.
"""

from __future__ import annotations

import json
import tomllib
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from dbkit import api, settings
from dbkit.compare import catalog
from dbkit.plan.graph import load_plan

pytestmark = pytest.mark.unified

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "docs" / "seed-mapping.toml"

U1 = "00000000-0000-0000-0000-000000000001"
U2 = "00000000-0000-0000-0000-000000000002"
U3 = "00000000-0000-0000-0000-000000000003"


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def s(db_url):
    return settings.resolve(ROOT, url=db_url, environ={})


def query(url, sql, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def scalar(url, sql, params=None):
    return query(url, sql, params)[0][0]


def snap(url):
    with psycopg.connect(url, autocommit=True) as conn:
        return catalog.snapshot(conn)


def assert_same(expected, actual, when):
    differences = catalog.diff(expected, actual)
    assert not differences, f"{when}:\n" + catalog.format_differences(differences, limit=40)


def add_users(url, *ids):
    for n, user_id in enumerate(ids):
        query(
            url,
            "INSERT INTO users (id, email, user_type, full_name) VALUES (%s, %s, 'founder', %s)",
            (user_id, f"user{n}-{user_id[-4:]}@example.com", f"User {n}"),
        )


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.smoke
def test_head_to_base_restores_the_catalog_exactly_and_migrates_again(s, db_url):
    empty = snap(db_url)
    result = api.migrate(s)
    assert len(result.steps) == len(load_plan(ROOT))
    head = snap(db_url)
    api.rollback(s, to="base")
    assert_same(empty, snap(db_url), "after rollback to base")
    api.migrate(s)
    assert_same(head, snap(db_url), "after migrating again")


def test_each_phase_rolls_back_to_exactly_the_catalog_before_it(s, db_url):
    plan = load_plan(ROOT)
    phases = plan.phases
    assert phases[0] == "foundation" and phases[-1] == "data_guards"
    before = {}
    for phase in phases:
        before[phase] = snap(db_url)
        api.migrate(s, phase=phase)
    head = snap(db_url)
    for phase in reversed(phases):
        api.rollback(s, phase=phase)
        assert_same(before[phase], snap(db_url), f"after rolling back phase {phase}")
        api.migrate(s, phase=phase)
        api.rollback(s, phase=phase)
        assert_same(before[phase], snap(db_url), f"after re-applying and rolling back {phase}")
    api.migrate(s)
    assert_same(head, snap(db_url), "after migrating again to head")


def test_phases_follow_the_seed_plans():
    phases = load_plan(ROOT).phases
    for seed_plan in (
        ["core_analytics", "business_intelligence", "advanced_features"],  # 000
        ["schema_preparation", "user_migration", "ai_enhancement", "professional_reporting"],
    ):
        positions = [phases.index(p) for p in seed_plan]
        assert positions == sorted(positions)
    nontransactional = [m.name for m in load_plan(ROOT) if not m.transactional]
    assert nontransactional == [
        "0016_subscription_indexes",
        "0019_ai_enhancement_indexes",
        "0040_free_tier_assignment_keys",
    ]


# -- the seed mapping ------------------------------------------------------------------------


def test_seed_mapping_covers_every_seed_object():
    mapping = tomllib.loads(MAPPING.read_text())
    defined = {(t["seed"], t["name"]) for t in mapping["table"] if t["defined"]}
    assert len({name for _, name in defined}) == 58
    assert len(mapping["index"]) == 42
    assert len(mapping["enum"]) == 9
    assert {f["name"] for f in mapping["function"]} == {
        "update_updated_at_column",
        "cleanup_expired_synthetic_data",
    }
    assert [v["name"] for v in mapping["view"]] == ["company_performance"]
    assert len(mapping["trigger"]) == 7


def test_migrated_database_holds_every_object_the_mapping_names(s, db_url):
    api.migrate(s)
    mapping = tomllib.loads(MAPPING.read_text())
    kinds = dict(
        query(
            db_url,
            "SELECT relname, relkind::text FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace",
        )
    )
    columns: dict[str, set[str]] = {}
    for rel, col in query(
        db_url,
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped",
    ):
        columns.setdefault(rel, set()).add(col)
    missing = []
    for table in mapping["table"]:
        where = f"{table['seed']} {table['name']}"
        if kinds.get(table["unified"]) != "r":
            missing.append(f"{where}: table {table['unified']}")
        if "compat_view" in table and kinds.get(table["compat_view"]) != "v":
            missing.append(f"{where}: view {table['compat_view']}")
        for seed_column, column in table.get("columns", {}).items():
            if column not in columns.get(table["unified"], set()):
                missing.append(f"{where}.{seed_column}: {table['unified']}.{column}")
            if "compat_view" in table and seed_column not in columns[table["compat_view"]]:
                missing.append(f"{where}.{seed_column}: view {table['compat_view']}")
        if "like" in table:
            assert columns[table["like"]] <= columns[table["unified"]]
    indexes = {
        row[0]: row[1:]
        for row in query(
            db_url,
            "SELECT i.relname, t.relname, am.amname, x.indpred IS NOT NULL, x.indisvalid "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = i.relam "
            "WHERE t.relnamespace = 'public'::regnamespace",
        )
    }
    for index in mapping["index"]:
        expected = (index["unified_table"], index["method"], index["partial"], True)
        if indexes.get(index["unified"]) != expected:
            missing.append(f"index {index['unified']}: {indexes.get(index['unified'])}")
    for view in mapping["view"]:
        if kinds.get(view["unified"]) != "v" or set(view["columns"]) != columns[view["unified"]]:
            missing.append(f"view {view['unified']}")
    for function in mapping["function"]:
        returns = query(
            db_url,
            "SELECT format_type(prorettype, NULL) FROM pg_proc WHERE oid = to_regprocedure(%s)",
            (function["signature"],),
        )
        if returns != [(function["returns"],)]:
            missing.append(f"function {function['signature']}: {returns}")
    for trigger in mapping["trigger"]:
        found = scalar(
            db_url,
            "SELECT count(*) FROM pg_trigger WHERE tgname = %s AND tgrelid = to_regclass(%s)",
            (trigger["unified"], trigger["unified_table"]),
        )
        if found != 1:
            missing.append(f"trigger {trigger['unified']} on {trigger['unified_table']}")
    for enum in mapping["enum"]:
        values = query(
            db_url,
            "SELECT enumlabel FROM pg_enum WHERE enumtypid = to_regtype(%s) ORDER BY enumsortorder",
            (enum["unified"],),
        )
        if [v[0] for v in values] != enum["values"]:
            missing.append(f"enum {enum['unified']}: {values}")
    report = "\n".join(missing)
    assert not missing, f"objects in docs/seed-mapping.toml missing from the database:\n{report}"


# -- schema quality --------------------------------------------------------------------------


def test_constraints_named_foreign_keys_indexed_types_consistent(s, db_url):
    api.migrate(s)
    unnamed = query(
        db_url,
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace AND conname !~ '^(pk|fk|uq|ck)_' "
        # PostgreSQL 18 lists NOT NULL as constraints named by the server; alembic_version
        # is the engine's table.
        "AND contype <> 'n' AND conrelid <> 'alembic_version'::regclass",
    )
    assert unnamed == []
    # every foreign key indexed: the rule's one home is the check every phase runs
    from dbkit.plan.checks import parse_check_file

    every = parse_check_file(ROOT / "validations/phases/_every.post.sql").checks
    [indexed] = [c for c in every if c.name == "foreign_keys_indexed"]
    assert query(db_url, indexed.query) == []
    # the one key indexed through a unique index on part of it: the primary key
    assert query(
        db_url,
        "SELECT conname FROM pg_constraint c WHERE c.contype = 'f' "
        "AND c.connamespace = 'public'::regnamespace AND NOT EXISTS ("
        "  SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid"
        "  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey)",
    ) == [("fk_free_tier_assignments_subscription_user",)]
    naive = query(
        db_url,
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type = 'timestamp without time zone'",
    )
    assert naive == []
    unscaled = query(
        db_url,
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
        "AND c.data_type = 'numeric' AND c.numeric_scale IS NULL",
    )
    assert unscaled == []
    ids = query(
        db_url,
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
        "AND c.column_name = 'id' AND c.data_type <> 'uuid'",
    )
    assert ids == []


def test_updated_at_trigger_on_every_table_with_updated_at(s, db_url):
    api.migrate(s)
    without = query(
        db_url,
        "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
        "AND a.attname = 'updated_at' AND NOT EXISTS (SELECT 1 FROM pg_trigger t "
        "WHERE t.tgrelid = c.oid AND t.tgfoid = 'update_updated_at_column'::regproc)",
    )
    assert without == []
    add_users(db_url, U1)
    query(db_url, "UPDATE users SET updated_at = '2000-01-01' WHERE id = %s", (U1,))
    assert scalar(db_url, "SELECT updated_at > now() - interval '1 minute' FROM users")
    query(
        db_url,
        "INSERT INTO products (name, base_price, current_price, updated_at) "
        "VALUES ('p', 1, 1, '2000-01-01')",
    )
    query(db_url, "UPDATE products SET current_price = 2")
    assert scalar(db_url, "SELECT updated_at > now() - interval '1 minute' FROM products")


# -- the seeds' own queries ------------------------------------------------------------------


def test_seed_queries_run_against_the_unified_schema(s, db_url):
    api.migrate(s)
    add_users(db_url, U1)
    company = str(uuid.uuid4())
    query(
        db_url,
        "INSERT INTO companies (id, user_id, name, revenue, growth_rate, current_valuation) "
        "VALUES (%s, %s, 'Acme', 1000000, 12.5, 5000000)",
        (company, U1),
    )
    query(db_url, "INSERT INTO token_transactions (user_id, amount) VALUES (%s, 7)", (U1,))
    query(
        db_url,
        "INSERT INTO portfolio_metrics (company_id, metric_date, current_valuation, growth_rate) "
        "VALUES (%s, '2024-01-01', 6000000, 10), (%s, '2024-06-01', 7000000, 15)",
        (company, company),
    )
    query(
        db_url,
        "INSERT INTO valuations (company_id, final_valuation, confidence_score) "
        "VALUES (%s, 5000000, 0.8)",
        (company,),
    )
    # 000's view
    assert query(db_url, "SELECT * FROM company_performance") == [
        ("Acme", Decimal("1000000.00"), Decimal("12.50"), Decimal("5000000.00"), Decimal("0.8000"))
    ]
    # 001's _get_startup_dashboard_data, %s replaced by a uuid
    dashboard = query(
        db_url,
        """
        SELECT
            c.*,
            COALESCE(tm.total_tokens, 0) as total_tokens,
            COALESCE(tm.tokens_this_month, 0) as tokens_this_month,
            COALESCE(pm.current_valuation, c.current_valuation) as latest_valuation,
            COALESCE(pm.growth_rate, 0) as growth_rate
        FROM companies c
        LEFT JOIN (
            SELECT
                user_id,
                SUM(amount) as total_tokens,
                SUM(CASE WHEN created_at >= date_trunc('month', CURRENT_DATE) THEN amount ELSE 0 END) as tokens_this_month
            FROM token_transactions
            WHERE user_id = %s
            GROUP BY user_id
        ) tm ON c.user_id = tm.user_id
        LEFT JOIN (
            SELECT
                company_id,
                current_valuation,
                growth_rate,
                ROW_NUMBER() OVER (PARTITION BY company_id ORDER BY metric_date DESC) as rn
            FROM portfolio_metrics
        ) pm ON c.id = pm.company_id AND pm.rn = 1
        WHERE c.user_id = %s
        """,  # noqa: E501
        (U1, U1),
    )
    assert len(dashboard) == 1 and float(dashboard[0][-2]) == 7000000
    # 002's pre-migration validation, verbatim
    for sql in (
        "SELECT COUNT(*) FROM users WHERE id IS NULL",
        "SELECT COUNT(*) FROM businesses WHERE owner_id NOT IN (SELECT id FROM users)",
        "SELECT COUNT(*) FROM health_metrics WHERE business_id NOT IN (SELECT id FROM businesses)",
    ):
        assert scalar(db_url, sql) == 0
    # 002's free-tier INSERT, verbatim, then its post-migration validation
    query(
        db_url,
        """
        INSERT INTO user_subscriptions (user_id, plan_id, status, current_period_start, current_period_end)
        SELECT u.id,
               (SELECT id FROM subscription_plans WHERE name = 'Free' LIMIT 1),
               'active',
               now(),
               now() + interval '1 year'
        FROM users u
        WHERE NOT EXISTS (
          SELECT 1 FROM user_subscriptions us WHERE us.user_id = u.id
        )
        """,  # noqa: E501
    )
    assert (
        scalar(
            db_url,
            "SELECT COUNT(*) FROM users u LEFT JOIN user_subscriptions us ON u.id = us.user_id "
            "WHERE us.id IS NULL",
        )
        == 0
    )
    assert (
        scalar(
            db_url,
            "SELECT COUNT(*) FROM user_subscriptions WHERE user_id NOT IN (SELECT id FROM users)",
        )
        == 0
    )


# -- features, with data ---------------------------------------------------------------------


def test_free_tier_for_existing_users_and_rollback_removes_only_those(s, db_url):
    api.migrate(s, to="0016")
    add_users(db_url, U1, U2, U3)
    query(db_url, "INSERT INTO subscription_plans (name, price) VALUES ('Pro', 49)")
    chosen_pro = str(uuid.uuid4())
    chosen_free = str(uuid.uuid4())
    query(
        db_url,
        "INSERT INTO user_subscriptions (id, user_id, plan_id) "
        "SELECT %s, %s, id FROM subscription_plans WHERE name = 'Pro'",
        (chosen_pro, U2),
    )
    query(
        db_url,
        "INSERT INTO user_subscriptions (id, user_id, plan_id) "
        "SELECT %s, %s, id FROM subscription_plans WHERE name = 'Free'",
        (chosen_free, U3),
    )
    before = query(db_url, "SELECT id, user_id, plan_id FROM user_subscriptions ORDER BY id")

    api.migrate(s, phase="user_migration")
    rows = query(
        db_url,
        "SELECT us.user_id::text, sp.name FROM user_subscriptions us "
        "JOIN subscription_plans sp ON sp.id = us.plan_id ORDER BY 1",
    )
    assert rows == [(U1, "Free"), (U2, "Pro"), (U3, "Free")]
    assert query(db_url, "SELECT user_id::text FROM free_tier_assignments") == [(U1,)]

    api.rollback(s, phase="user_migration")
    after = query(db_url, "SELECT id, user_id, plan_id FROM user_subscriptions ORDER BY id")
    assert after == before
    assert scalar(db_url, "SELECT to_regclass('free_tier_assignments')") is None


def test_cleanup_removes_only_expired_synthetic_rows(s, db_url):
    api.migrate(s)
    add_users(db_url, U1)
    ids = {name: str(uuid.uuid4()) for name in ("gone", "kept_ref", "live", "real", "chain")}
    for name, synthetic, expiry in (
        ("gone", True, "-1 day"),
        ("kept_ref", True, "-1 day"),  # still referenced by a live synthetic investment
        ("live", True, "+1 day"),
        ("real", False, "-1 day"),
        ("chain", True, "-1 day"),  # its children are expired too: all go
    ):
        query(
            db_url,
            "INSERT INTO companies (id, name, is_synthetic, expires_at) "
            "VALUES (%s, %s, %s, now() + %s::interval)",
            (ids[name], name, synthetic, expiry),
        )
    query(
        db_url,
        "INSERT INTO investments (company_id, is_synthetic, expires_at) VALUES "
        "(%s, true, now() + interval '1 day'), (%s, true, now() - interval '1 day'), "
        "(%s, false, now() - interval '1 day')",
        (ids["kept_ref"], ids["chain"], ids["real"]),
    )
    query(
        db_url,
        "INSERT INTO esg_metrics (company_id, metric_date, is_synthetic, expires_at) "
        "VALUES (%s, '2024-01-01', true, now() - interval '1 hour')",
        (ids["chain"],),
    )
    query(
        db_url,
        "INSERT INTO token_transactions (user_id, amount, is_synthetic, expires_at) VALUES "
        "(%s, 1, true, now() - interval '1 day'), (%s, 1, false, now() - interval '1 day')",
        (U1, U1),
    )
    removed = scalar(db_url, "SELECT cleanup_expired_synthetic_data()")
    assert removed == 5  # 1 token, 1 esg, 1 investment, companies gone and chain
    assert {r[0] for r in query(db_url, "SELECT name FROM companies")} == {
        "kept_ref",
        "live",
        "real",
    }
    assert scalar(db_url, "SELECT count(*) FROM investments") == 2
    assert scalar(db_url, "SELECT count(*) FROM token_transactions") == 1
    assert scalar(db_url, "SELECT cleanup_expired_synthetic_data()") == 0


def test_retention_touches_only_rows_past_retention(s, db_url):
    api.migrate(s)
    org = str(uuid.uuid4())
    query(db_url, "INSERT INTO organizations (id, name) VALUES (%s, 'Org')", (org,))
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    query(
        db_url,
        "INSERT INTO leads (id, organization_id, first_name, last_name, email, phone, "
        "created_at, updated_at) VALUES "
        "(%s, %s, 'Old', 'Lead', 'old@example.com', '1', now() - interval '4 years', "
        " now() - interval '4 years'), "
        "(%s, %s, 'New', 'Lead', 'new@example.com', '2', now() - interval '1 year', "
        " now() - interval '1 year')",
        (old, org, new, org),
    )
    query(
        db_url,
        "INSERT INTO conversations (lead_id, direction, channel, content, created_at) VALUES "
        "(%s, 'inbound', 'email', 'old', now() - interval '5 years'), "
        "(%s, 'inbound', 'email', 'new', now())",
        (new, new),
    )
    query(
        db_url,
        "INSERT INTO login_attempts (username, success, timestamp) VALUES "
        "('u', false, now() - interval '2 years'), ('u', true, now())",
    )
    result = dict(
        (category, (action, count))
        for category, action, count in query(db_url, "SELECT * FROM apply_data_retention()")
    )
    assert result["leads"] == ("anonymize", 1)
    assert result["conversations"] == ("delete", 1)
    assert result["login_attempts"] == ("delete", 1)
    leads = dict(
        (str(r[0]), r[1:])
        for r in query(db_url, "SELECT id, first_name, email, anonymized_at IS NOT NULL FROM leads")
    )
    assert leads[old] == ("redacted", None, True)
    assert leads[new] == ("New", "new@example.com", False)
    assert [r[0] for r in query(db_url, "SELECT content FROM conversations")] == ["new"]
    # configurable: a shorter period reaches the newer lead too; a second run is a no-op
    query(
        db_url,
        "UPDATE data_retention_policies SET retention_period = interval '6 months' "
        "WHERE data_category = 'leads'",
    )
    again = {r[0]: r[2] for r in query(db_url, "SELECT * FROM apply_data_retention()")}
    assert again["leads"] == 1 and again["conversations"] == 0
    assert all(r[2] == 0 for r in query(db_url, "SELECT * FROM apply_data_retention()"))


def test_rls_hides_other_users_billing_rows_from_the_application_role(s, db_url):
    api.migrate(s)
    add_users(db_url, U1, U2)
    query(
        db_url,
        "INSERT INTO billing_transactions (user_id, amount, status, transaction_type) VALUES "
        "(%s, 10, 'succeeded', 'charge'), (%s, 20, 'succeeded', 'charge')",
        (U1, U2),
    )
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET ROLE dbkit_app")
        conn.execute("SELECT set_config('app.user_id', %s, false)", (U1,))
        rows = conn.execute("SELECT user_id::text, amount FROM billing_transactions").fetchall()
        assert [r[0] for r in rows] == [U1]
        assert conn.execute(
            "SELECT count(*) FROM user_subscriptions WHERE user_id <> %s", (U1,)
        ).fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO billing_transactions (user_id, amount, status, transaction_type) "
                "VALUES (%s, 1, 'x', 'y')",
                (U2,),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM billing_audit_log")
        conn.execute("RESET ROLE")
        conn.execute("SET ROLE dbkit_billing_admin")
        assert conn.execute("SELECT count(*) FROM billing_transactions").fetchone() == (2,)
    audited = query(
        db_url,
        "SELECT table_name, operation, count(*) FROM billing_audit_log GROUP BY 1, 2",
    )
    assert ("billing_transactions", "INSERT", 2) in audited


def test_archive_moves_only_old_valuations_and_history_records_changes(s, db_url):
    api.migrate(s)
    add_users(db_url, U1)
    company = str(uuid.uuid4())
    query(db_url, "INSERT INTO companies (id, name) VALUES (%s, 'Acme')", (company,))
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT set_config('app.user_id', %s, false)", (U1,))
        conn.execute(
            "INSERT INTO valuations (id, company_id, valuation_date, final_valuation) VALUES "
            "(%s, %s, '2019-01-01', 100), (%s, %s, '2024-01-01', 200)",
            (old, company, new, company),
        )
        conn.execute("UPDATE valuations SET final_valuation = 250 WHERE id = %s", (new,))
        conn.execute("UPDATE valuations SET notes = 'same value' WHERE id = %s", (new,))
    history = query(
        db_url,
        "SELECT previous_value, new_value, changed_by::text FROM valuation_history "
        "WHERE valuation_id = %s ORDER BY changed_at, new_value",
        (new,),
    )
    assert [(h[0], h[1]) for h in history] == [(None, 200), (200, 250)]
    assert history[-1][2] == U1
    assert scalar(db_url, "SELECT archive_valuations('2020-01-01')") == 1
    assert [str(r[0]) for r in query(db_url, "SELECT id FROM valuations")] == [new]
    assert [str(r[0]) for r in query(db_url, "SELECT id FROM valuations_archive")] == [old]
    # rolling the archive back returns archived rows to valuations
    api.rollback(s, to="0033")
    assert scalar(db_url, "SELECT count(*) FROM valuations") == 2


def test_lead_changes_are_notified(s, db_url):
    api.migrate(s)
    org, lead = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN lead_changes")
        query(db_url, "INSERT INTO organizations (id, name) VALUES (%s, 'Org')", (org,))
        query(
            db_url,
            "INSERT INTO leads (id, organization_id, first_name, last_name) "
            "VALUES (%s, %s, 'A', 'B')",
            (lead, org),
        )
        query(db_url, "UPDATE leads SET status = 'qualified' WHERE id = %s", (lead,))
        payloads = []
        for note in listener.notifies(timeout=5, stop_after=2):
            payloads.append(note.payload)
    events = [json.loads(p) for p in payloads]
    assert [(e["table"], e["operation"]) for e in events] == [
        ("leads", "INSERT"),
        ("leads", "UPDATE"),
    ]
    assert events[1]["status"] == "qualified" and events[1]["lead_id"] == lead


def test_subscription_analytics_refresh_concurrently(s, db_url):
    api.migrate(s)
    add_users(db_url, U1)
    query(
        db_url,
        "INSERT INTO user_subscriptions (user_id, plan_id) "
        "SELECT %s, id FROM subscription_plans WHERE name = 'Free'",
        (U1,),
    )
    query(db_url, "SELECT refresh_subscription_analytics()")
    assert query(
        db_url,
        "SELECT plan_name, active_subscriptions FROM mv_subscription_plan_stats",
    ) == [("Free", 1)]
    query(db_url, "SELECT refresh_subscription_analytics(false)")


def test_a_check_that_a_validated_constraint_answers_reads_no_row(s, db_url):
    """Phase data_guards' post-check asks for synthetic rows without expiry: once 0039 has
    validated the CHECK constraints, checks (and lint's EXPLAIN) plan it as empty; with the
    constraints still NOT VALID (at 0038) the same check reads both tables."""
    from dbkit.engine.explain import big_scans
    from dbkit.engine.runner import run_check
    from dbkit.plan.checks import parse_check_file

    checks = parse_check_file(ROOT / "validations/phases/data_guards.post.sql").checks
    [check] = [c for c in checks if c.name == "synthetic_rows_expire"]
    api.migrate(s, to="0038")
    with psycopg.connect(db_url, autocommit=True) as conn:
        scans = big_scans(conn, [check], threshold=0)
        assert {scan.relation.split(".")[-1] for scan in scans.scans} == {
            "portfolio_metrics",
            "esg_metrics",
        }
    api.migrate(s)
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert big_scans(conn, [check], threshold=0).scans == []
        assert run_check(conn, check).rows_found == 0
        # PostgreSQL's default planning (constraint_exclusion = partition) would read them.
        plan = conn.execute(f"EXPLAIN {check.query}").fetchall()
        assert any("Seq Scan on esg_metrics" in line for (line,) in plan)


def _user_migration_check(name):
    from dbkit.plan.checks import parse_check_file

    checks = parse_check_file(ROOT / "validations/phases/user_migration.post.sql").checks
    [check] = [c for c in checks if c.name == name]
    return check


def test_free_tier_keys_refuse_what_the_user_migration_checks_read_rows_for(s, db_url):
    """0040/0041 state two of user_migration's data checks as keys: one assignment per user,
    naming a subscription of that same user. Before the keys the checks read the rows and
    find a violation; a duplicate stops 0040 (undone: no index left), a mismatch stops
    0041's VALIDATE (0040 stays, the key NOT VALID); with the keys validated both checks
    read no row of either table and PostgreSQL refuses such rows itself."""
    from dbkit.engine.runner import run_check
    from dbkit.errors import MigrationFailed

    same_user = _user_migration_check("free_tier_assignments_match_subscriptions")
    one_each = _user_migration_check("one_free_tier_assignment_per_user")
    api.migrate(s, to="0016")
    add_users(db_url, U1, U2)
    pro = str(uuid.uuid4())
    query(db_url, "INSERT INTO subscription_plans (name, price) VALUES ('Pro', 49)")
    query(
        db_url,
        "INSERT INTO user_subscriptions (id, user_id, plan_id) "
        "SELECT %s, %s, id FROM subscription_plans WHERE name = 'Pro'",
        (pro, U2),
    )
    api.migrate(s, to="0039")  # 0017 gave U1 the Free plan
    # U2's Pro subscription recorded as U1's assignment: wrong user, and U1 twice
    query(db_url, "INSERT INTO free_tier_assignments (subscription_id, user_id) VALUES (%s, %s)",
          (pro, U1))  # fmt: skip
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert run_check(conn, same_user).rows_found == 1
        assert run_check(conn, one_each).rows_found == 1

    with pytest.raises(MigrationFailed) as duplicate:
        api.migrate(s)
    assert duplicate.value.revision == "0040" and "is duplicated" in str(duplicate.value)
    assert api.status(s).current_revision == "0039"
    assert query(
        db_url,
        "SELECT to_regclass('uq_free_tier_assignments_user_id'), "
        "to_regclass('uq_user_subscriptions_id_user_id'), "
        "(SELECT count(*) FROM pg_constraint "
        " WHERE conname = 'fk_free_tier_assignments_subscription_user')",
    ) == [(None, None, 0)]

    query(db_url, "DELETE FROM free_tier_assignments WHERE subscription_id <> %s", (pro,))
    with pytest.raises(MigrationFailed) as mismatch:
        api.migrate(s)
    assert mismatch.value.revision == "0041"
    assert "fk_free_tier_assignments_subscription_user" in str(mismatch.value)
    assert api.status(s).current_revision == "0040"
    assert scalar(
        db_url,
        "SELECT convalidated FROM pg_constraint "
        "WHERE conname = 'fk_free_tier_assignments_subscription_user'",
    ) is False  # fmt: skip

    query(db_url, "UPDATE free_tier_assignments SET user_id = %s", (U2,))
    api.migrate(s)
    assert api.status(s).current_revision == load_plan(ROOT).head
    with psycopg.connect(db_url, autocommit=True) as conn:
        for check in (same_user, one_each):
            assert run_check(conn, check).rows_found == 0
            plan = [line for (line,) in conn.execute(f"EXPLAIN (ANALYZE) {check.query}")]
            scans = [line for line in plan if "Scan on free_tier_assignments" in line
                     or "Scan on user_subscriptions" in line]  # fmt: skip
            assert scans and all("never executed" in line for line in scans), plan
        second = str(uuid.uuid4())  # U2's second subscription, assigned to nobody yet
        conn.execute(
            "INSERT INTO user_subscriptions (id, user_id, plan_id) "
            "SELECT %s, %s, id FROM subscription_plans WHERE name = 'Pro'",
            (second, U2),
        )
        insert = "INSERT INTO free_tier_assignments (subscription_id, user_id) VALUES (%s, %s)"
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(insert, (second, U1))  # U2's subscription as U1's assignment
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, (second, U2))  # a second assignment for U2
