"""Issue 4 on the unified schema: every phase's checks, data preservation, the performance
guard and the rollback levels, on a database holding existing rows (real PostgreSQL).

Existing data is loaded the moment its tables exist (3000 users after identity, 2000
companies and 4000 health metrics after core_models, plans and 400 subscriptions after
schema_preparation, ...), as in a production database that is migrated phase by phase.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dbkit import api, settings
from dbkit.cli.app import main
from dbkit.errors import ExitCode, MigrationFailed, ValidationFailed
from dbkit.plan.checks import parse_check_file
from dbkit.plan.graph import load_plan

pytestmark = pytest.mark.unified

ROOT = Path(__file__).resolve().parent.parent
PLAN = load_plan(ROOT)
PHASES = list(dict.fromkeys(m.phase for m in PLAN))
PHASE_DIR = ROOT / "validations" / "phases"
PHASES_002 = ["schema_preparation", "user_migration", "ai_enhancement", "professional_reporting"]

USERS, COMPANIES, PRE_EXISTING_SUBSCRIPTIONS = 3000, 2000, 400
FREE_TIER = USERS - PRE_EXISTING_SUBSCRIPTIONS


def uid(kind: int, expr: str = "g") -> str:
    """A deterministic uuid for row ``expr`` of table ``kind`` (SQL expression)."""
    return f"('{kind:08x}-0000-4000-8000-' || lpad(({expr})::text, 12, '0'))::uuid"


FREE_PLAN = "(SELECT sp.id FROM subscription_plans AS sp WHERE sp.name = 'Free')"

# What a production database holds once the tables exist: phase -> [(table, rows, SQL)].
EXISTING_DATA: dict[str, list[tuple[str, int, str]]] = {
    "identity": [
        (
            "organizations",
            20,
            f"INSERT INTO organizations (id, name, size) SELECT {uid(2)}, 'Org ' || g, 'small' "
            "FROM generate_series(1, 20) AS g",
        ),
        (
            "users",
            USERS,
            f"INSERT INTO users (id, email, user_type, full_name, organization_id, created_at) "
            f"SELECT {uid(1)}, 'user' || g || '@example.com', "
            "(ARRAY['founder', 'vc', 'corporate'])[1 + g % 3], 'User ' || g, "
            f"{uid(2, '1 + g % 20')}, now() - g * interval '1 hour' "
            f"FROM generate_series(1, {USERS}) AS g",
        ),
        (
            "teams",
            40,
            f"INSERT INTO teams (id, organization_id, name, manager_id) SELECT {uid(3)}, "
            f"{uid(2, '1 + g % 20')}, 'Team ' || g, {uid(1)} FROM generate_series(1, 40) AS g",
        ),
    ],
    "core_models": [
        (
            "companies",
            COMPANIES,
            "INSERT INTO companies (id, user_id, name, industry, stage, revenue, growth_rate) "
            f"SELECT {uid(4)}, {uid(1)}, 'Company ' || g, "
            "(ARRAY['saas', 'fintech', 'health', 'retail'])[1 + g % 4], 'seed', g * 1000, "
            f"g % 50 FROM generate_series(1, {COMPANIES}) AS g",
        ),
        (
            "valuations",
            1000,
            "INSERT INTO valuations (id, company_id, user_id, valuation_date, final_valuation, "
            f"confidence_score) SELECT {uid(5)}, {uid(4)}, {uid(1)}, current_date - g, "
            "g * 10000, 0.8 FROM generate_series(1, 1000) AS g",
        ),
        (
            "health_metrics",
            4000,
            "INSERT INTO health_metrics (id, business_id, overall_score, risk_level, "
            f"calculated_at) SELECT {uid(6)}, {uid(4, '1 + g % 2000')}, g % 101, 'low', "
            "now() - g * interval '1 day' FROM generate_series(1, 4000) AS g",
        ),
    ],
    "schema_preparation": [
        (
            "subscription_plans",
            2,
            "INSERT INTO subscription_plans (id, name, price, billing_period, features) "
            f"VALUES ({uid(7, '1')}, 'Pro', 49.00, 'monthly', '{{}}'), "
            f"({uid(7, '2')}, 'Business', 199.00, 'monthly', '{{}}')",
        ),
        (
            # 300 paying users and 100 who chose the Free plan themselves: seed 002's
            # rollback would delete the latter too; dbkit's must not.
            "user_subscriptions",
            PRE_EXISTING_SUBSCRIPTIONS,
            "INSERT INTO user_subscriptions (id, user_id, plan_id, stripe_subscription_id, "
            f"status) SELECT {uid(8)}, {uid(1)}, "
            f"CASE WHEN g <= 300 THEN {uid(7, '1')} ELSE {FREE_PLAN} END, "
            "'sub_' || g, 'active' "
            f"FROM generate_series(1, {PRE_EXISTING_SUBSCRIPTIONS}) AS g",
        ),
        (
            "billing_transactions",
            300,
            "INSERT INTO billing_transactions (user_id, subscription_id, amount, status, "
            f"transaction_type) SELECT {uid(1)}, {uid(8)}, 49.00, 'succeeded', 'charge' "
            "FROM generate_series(1, 300) AS g",
        ),
        (
            "usage_metrics",
            5000,
            "INSERT INTO usage_metrics (user_id, metric_type, count, date) "
            f"SELECT {uid(1, '1 + g % 1000')}, 'ai_analysis', 1, current_date - g % 60 "
            "FROM generate_series(1, 5000) AS g",
        ),
    ],
    "ai_enhancement": [
        (
            "portfolios",
            500,
            "INSERT INTO portfolios (id, user_id, name, is_default) "
            f"SELECT {uid(9)}, {uid(1)}, 'Portfolio ' || g, true "
            "FROM generate_series(1, 500) AS g",
        ),
        (
            "portfolio_businesses",
            1000,
            "INSERT INTO portfolio_businesses (portfolio_id, business_id) "
            f"SELECT {uid(9, '1 + g % 500')}, {uid(4)} FROM generate_series(1, 1000) AS g",
        ),
        (
            "ai_analysis_sessions",
            2000,
            "INSERT INTO ai_analysis_sessions (user_id, business_id, session_type, status, "
            f"progress_percentage) SELECT {uid(1, '1 + g % 1500')}, {uid(4)}, "
            "'health_analysis', (ARRAY['pending', 'running', 'completed'])[1 + g % 3], g % 101 "
            "FROM generate_series(1, 2000) AS g",
        ),
    ],
    "professional_reporting": [
        (
            "generated_reports",
            500,
            "INSERT INTO generated_reports (user_id, business_id, portfolio_id, report_type) "
            f"SELECT {uid(1)}, {uid(4)}, {uid(9)}, 'valuation' FROM generate_series(1, 500) AS g",
        ),
    ],
    "commerce": [
        (
            "products",
            50,
            f"INSERT INTO products (id, name, base_price, current_price) SELECT {uid(10)}, "
            "'Product ' || g, 10 + g, 10 + g FROM generate_series(1, 50) AS g",
        ),
        (
            "payments",
            500,
            "INSERT INTO payments (user_id, product_id, amount, currency, status) "
            f"SELECT {uid(1)}, {uid(10, '1 + g % 50')}, 10 + g % 50, 'USD', 'completed' "
            "FROM generate_series(1, 500) AS g",
        ),
    ],
    "crm": [
        (
            "leads",
            1000,
            "INSERT INTO leads (organization_id, assigned_to, team_id, first_name, last_name, "
            f"email) SELECT {uid(2, '1 + g % 20')}, {uid(1, '1 + g % 200')}, "
            f"{uid(3, '1 + g % 40')}, 'Lead', 'No ' || g, 'lead' || g || '@example.com' "
            "FROM generate_series(1, 1000) AS g",
        ),
    ],
}


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


def version(url):
    return [r[0] for r in query(url, "SELECT version_num FROM alembic_version")]


def load(url, phase, expected):
    """Insert the existing data whose tables ``phase`` created; record the row counts."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table, rows, sql in EXISTING_DATA.get(phase, []):
            assert conn.execute(sql).rowcount == rows, table
            expected[table] = expected.get(table, 0) + rows
        if phase == "identity":
            conn.execute(
                f"UPDATE users SET team_id = {uid(3, '1 + right(id::text, 12)::int % 40')} "
                "WHERE right(id::text, 12)::int % 3 = 0"
            )
        conn.execute("ANALYZE")  # an existing database has statistics


def counts(url, tables):
    """Row counts of the tables that exist (None for the ones that do not)."""
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
            out[table] = (
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if exists else None
            )
    return out


def content(url, table):
    """md5 over the rows of ``table``: equal before and after means nothing changed."""
    return scalar(url, f"SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} AS t")


# Which key queries each phase is guarded by: those whose tables an earlier phase created.
_USERS = ("user_by_email",)
_BUSINESS = (*_USERS, "businesses_by_owner", "latest_health_metrics")
_BILLING = (*_BUSINESS, "subscription_lookup", "usage_by_user_date")
_ALL = (*_BILLING, "ai_sessions_by_user_status", "portfolio_by_user")
GUARDED_FROM = {
    "core_models": _USERS,
    "core_analytics": _BUSINESS,
    "business_intelligence": _BUSINESS,
    "advanced_features": _BUSINESS,
    "investor": _BUSINESS,
    "schema_preparation": _BUSINESS,
    "user_migration": _BILLING,
    "ai_enhancement": _BILLING,
    "professional_reporting": _ALL,
    "commerce": _ALL,
    "crm": _ALL,
    "finalization": _ALL,
    "data_guards": _ALL,
}


def phase_checks(phase, kind):
    """Names of the checks a phase runs: its own, then those every phase shares."""
    files = [PHASE_DIR / f"{phase}.{kind}.sql"]
    if kind in ("pre", "post"):
        files.append(PHASE_DIR / f"_every.{kind}.sql")
    return [c.name for path in files for c in parse_check_file(path).checks]


def expected_migrate_checks(phase):
    """(when, name) of every check migrating ``phase`` from its start runs, in order."""
    out = [(f"pre-check of phase {phase}", n) for n in phase_checks(phase, "pre")]
    for m in PLAN:
        if m.phase == phase:
            out += [
                (f"pre-check of {m.name}", c.name)
                for c in parse_check_file(m.pre_check_path).checks
            ]
            out += [
                (f"post-check of {m.name}", c.name)
                for c in parse_check_file(m.post_check_path).checks
            ]
    out += [(f"post-check of phase {phase}", n) for n in phase_checks(phase, "post")]
    return out


def migrate_to(s, url, last_phase, expected):
    for phase in PHASES[: PHASES.index(last_phase) + 1]:
        api.migrate(s, phase=phase)
        load(url, phase, expected)


def failed(checks):
    return [(c.when, c.name, c.rows_found, c.sample[:1]) for c in checks if not c.passed]


# -- every phase up and back down, with data -------------------------------------------------


def test_every_phase_up_and_down_with_existing_data_runs_and_passes_every_check(s, db_url):
    expected: dict[str, int] = {}
    preserved_before = None
    for phase in PHASES:
        if phase == "schema_preparation":
            preserved_before = {
                t: content(db_url, t) for t in ("users", "companies", "health_metrics")
            }
        result = api.migrate(s, phase=phase)

        # Every check of the phase ran, in its place, and passed.
        assert [(c.when, c.name) for c in result.checks] == expected_migrate_checks(phase)
        assert failed(result.checks) == []
        assert phase_checks(phase, "pre") and phase_checks(phase, "post"), phase
        # The performance guard timed every key query of the phase and none got slower.
        assert [g.name for g in result.guard] == [
            c.name
            for c in parse_check_file(PHASE_DIR / "_every.perf.sql").checks
            if c.name in GUARDED_FROM.get(phase, ())
        ]
        assert [g.describe() for g in result.guard if g.tripped] == []
        # No data lost: every existing row is still there.
        if phase == "user_migration":
            expected["user_subscriptions"] += FREE_TIER
            expected["free_tier_assignments"] = FREE_TIER
        assert counts(db_url, expected) == expected, phase
        if phase == "schema_preparation":
            expected["subscription_plans"] = 1  # 0015's Free plan
        load(db_url, phase, expected)

    # The 002 phases (and finalization) declared users, companies and health_metrics
    # preserved; none of their files can write them, so each snapshot records them proven
    # (columns, estimate, file) and holds no digest of them.
    declared = query(
        db_url,
        "SELECT DISTINCT ON (phase) phase, "
        "array(SELECT k FROM jsonb_each(tables) AS e(k, v) "
        "WHERE jsonb_typeof(v->'columns') = 'array' "
        "ORDER BY k) FROM dbkit.phase_snapshots ORDER BY phase, id DESC",
    )
    preserved = ["public.companies", "public.health_metrics", "public.users"]
    assert {p: names for p, names in declared if names} == {
        **{p: preserved for p in PHASES_002},
        "finalization": preserved[:2] + ["public.users", "public.valuations"],
    }
    proven = query(
        db_url,
        "SELECT DISTINCT ON (phase) phase, "
        "array(SELECT k FROM jsonb_each(tables) AS e(k, v) WHERE v->>'proven' = 'true' "
        "ORDER BY k), (SELECT count(*) FROM dbkit.preserved_chunks AS c "
        "WHERE c.snapshot_id = s.id) FROM dbkit.phase_snapshots AS s ORDER BY phase, id DESC",
    )
    assert {p: (names, chunks) for p, names, chunks in proven if names} == {
        p: (names, 0) for p, names in declared if names
    }
    # 002's data preservation guarantee, checked independently of dbkit's checksums.
    assert {t: content(db_url, t) for t in preserved_before} == preserved_before
    assert version(db_url) == [PLAN.head]
    free = scalar(
        db_url,
        "SELECT count(*) FROM user_subscriptions AS us JOIN subscription_plans AS sp "
        "ON us.plan_id = sp.id WHERE sp.name = 'Free'",
    )
    assert free == FREE_TIER + 100

    # Back down, phase by phase: each rollback checks the state it returns to.
    for phase in reversed(PHASES):
        result = api.rollback(s, phase=phase)
        assert failed(result.checks) == []
        index = PHASES.index(phase)
        if index > 0:
            previous = PHASES[index - 1]
            ran = {(c.when, c.name) for c in result.checks}
            wanted = {
                (f"post-check of phase {previous} after rolling back {phase}", n)
                for n in phase_checks(previous, "post")
            }
            assert wanted <= ran, phase
        # The tables of earlier phases keep every row; the phase's own tables are gone.
        remaining = {
            table: rows
            for p in PHASES[:index]
            for table, rows in counts(db_url, [t for t, _, _ in EXISTING_DATA.get(p, [])]).items()
        }
        for table, rows in remaining.items():
            want = expected[table]
            if table == "user_subscriptions" and index <= PHASES.index("user_migration"):
                want = PRE_EXISTING_SUBSCRIPTIONS  # user_migration's free tier is gone
            assert rows == want, (phase, table)
        for table, _, _ in EXISTING_DATA.get(phase, []):
            assert scalar(db_url, "SELECT to_regclass(%s)", (table,)) is None
        if phase == "user_migration":
            assert counts(db_url, ["user_subscriptions"]) == {"user_subscriptions": 400}
            assert scalar(db_url, "SELECT to_regclass('free_tier_assignments')") is None
    assert version(db_url) == []


# -- rollback levels on the 002 phases -------------------------------------------------------


def test_rollback_levels_on_the_002_phases(s, db_url):
    expected: dict[str, int] = {}
    migrate_to(s, db_url, "user_migration", expected)
    assert version(db_url) == ["0017"]
    total = PRE_EXISTING_SUBSCRIPTIONS + FREE_TIER
    assert scalar(db_url, "SELECT count(*) FROM user_subscriptions") == total
    before = {t: content(db_url, t) for t in ("users", "companies", "health_metrics")}
    subscriptions = content(db_url, "user_subscriptions")

    # Feature level: plans switched off, every row kept, the schema and version unchanged.
    feature = api.rollback(s, phase="schema_preparation", level="feature")
    assert [(x.revision, x.outcome) for x in feature.steps] == [
        ("0017", "skipped"),
        ("0016", "skipped"),
        ("0015", "feature switched off"),
    ]
    assert (
        "no feature-level rollback: rollbacks/0017_free_tier_assignment.feature.sql"
        in (feature.steps[0].notes[0])
    )
    assert query(db_url, "SELECT count(*), bool_or(is_active) FROM subscription_plans") == [
        (3, False)
    ]
    assert content(db_url, "user_subscriptions") == subscriptions
    assert version(db_url) == ["0017"]
    # A switched-off Free plan is what user_migration's pre-check refuses to assign.
    pre = api.validate(s, phase="user_migration", pre=True)
    assert [c.name for c in pre.failed] == ["free_plan_active"]
    query(db_url, "UPDATE subscription_plans SET is_active = true")

    # Data level of user_migration: exactly the free-tier rows go; the tables stay.
    data = api.rollback(s, phase="user_migration", level="data")
    assert [(x.revision, x.outcome) for x in data.steps] == [("0017", "data removed")]
    assert version(db_url) == ["0017"]
    assert query(
        db_url,
        "SELECT count(*), count(*) FILTER (WHERE sp.name = 'Free') FROM user_subscriptions AS us "
        "JOIN subscription_plans AS sp ON us.plan_id = sp.id",
    ) == [(PRE_EXISTING_SUBSCRIPTIONS, 100)]  # the users' own Free choices stay
    assert scalar(db_url, "SELECT count(*) FROM free_tier_assignments") == 0
    assert scalar(db_url, "SELECT count(*) FROM billing_transactions") == 300
    post = api.validate(s, phase="user_migration", post=True)
    assert [(c.when, c.name, c.rows_found) for c in post.failed] == [
        ("post-check of phase user_migration", "users_have_subscription", FREE_TIER),
    ]

    # Bring the data back: schema-level rollback of the phase, then migrate it again.
    down = api.rollback(s, phase="user_migration")
    assert failed(down.checks) == []
    up = api.migrate(s, phase="user_migration")
    assert failed(up.checks) == []
    assert scalar(db_url, "SELECT count(*) FROM user_subscriptions") == total

    # Data level of schema_preparation while users are on the Free plan: the foreign key
    # refuses to remove the plan, and nothing of the rollback (0017's part included) is done.
    with pytest.raises(MigrationFailed, match="nothing of it was done") as caught:
        api.rollback(s, phase="schema_preparation", level="data")
    assert "0015_subscriptions_billing" in str(caught.value)
    assert "foreign key" in str(caught.value)
    assert scalar(db_url, "SELECT count(*) FROM user_subscriptions") == total
    assert scalar(db_url, "SELECT count(*) FROM subscription_plans WHERE name = 'Free'") == 1

    # Before user_migration, with nobody on the Free plan, the data level removes exactly
    # the row 0015 inserted: the plans the business created afterwards stay.
    api.rollback(s, phase="user_migration")
    query(
        db_url,
        f"UPDATE user_subscriptions SET plan_id = {uid(7, '1')} WHERE plan_id = {FREE_PLAN}",
    )
    data = api.rollback(s, phase="schema_preparation", level="data")
    assert [(x.revision, x.outcome) for x in data.steps] == [
        ("0016", "skipped"),
        ("0015", "data removed"),
    ]
    assert query(db_url, "SELECT name FROM subscription_plans ORDER BY price") == [
        ("Pro",),
        ("Business",),
    ]
    assert scalar(db_url, "SELECT count(*) FROM user_subscriptions") == PRE_EXISTING_SUBSCRIPTIONS
    assert version(db_url) == ["0016"]
    # Without the Free plan, user_migration's pre-check stops the phase before it starts.
    with pytest.raises(ValidationFailed) as refused:
        api.migrate(s, phase="user_migration")
    assert refused.value.exit_code == ExitCode.VALIDATION_FAILED
    assert "pre-check of phase user_migration failed: free_plan_active" in str(refused.value)
    assert "nothing of phase user_migration was applied" in str(refused.value)
    assert version(db_url) == ["0016"]

    # Nothing the levels did touched the data 002 promises to keep.
    assert {t: content(db_url, t) for t in before} == before
    levels = query(
        db_url,
        "SELECT revision, level FROM dbkit.history WHERE level <> 'schema' ORDER BY id",
    )
    assert levels == [("0015", "feature"), ("0017", "data"), ("0015", "data")]


# -- failures forced on the real schema ------------------------------------------------------


def cli(url, *args):
    return CliRunner().invoke(main, ["--project", str(ROOT), "--url", url, *args])


def bypassing_foreign_keys(url, sql):
    """Run ``sql`` with foreign keys not enforced, as rows in a legacy database got there."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(sql)


def not_valid(table, constraint):
    """SQL that turns a validated foreign key into its NOT VALID form (same definition)."""
    return (
        "DO $$ DECLARE d text := pg_get_constraintdef("
        f"(SELECT oid FROM pg_constraint WHERE conname = '{constraint}')); BEGIN "
        f"EXECUTE 'ALTER TABLE {table} DROP CONSTRAINT {constraint}'; "
        f"EXECUTE format('ALTER TABLE {table} ADD CONSTRAINT {constraint} %s NOT VALID', d); "
        "END $$"
    )


# (phase, side, failure SQL, repair SQL, checks that must report it). An orphan row is not
# among them: the checks trust a validated foreign key (docs/decisions.md); a key that is
# missing or not validated is what they report, and `validate --deep` finds the orphans.
TYPICAL_FAILURES = [
    (
        "core_models",
        "post",
        "ALTER TABLE health_metrics DROP CONSTRAINT fk_health_metrics_business_id",
        "ALTER TABLE health_metrics ADD CONSTRAINT fk_health_metrics_business_id "
        "FOREIGN KEY (business_id) REFERENCES companies (id) ON DELETE CASCADE",
        ["foreign_keys_in_place"],
    ),
    (
        "identity",
        "post",
        not_valid("users", "fk_users_team_id"),
        "ALTER TABLE users VALIDATE CONSTRAINT fk_users_team_id",
        ["foreign_keys_in_place", "foreign_keys_validated"],
    ),
    (
        "schema_preparation",
        "post",
        "DROP INDEX idx_user_subscriptions_user_id",
        "CREATE INDEX idx_user_subscriptions_user_id ON user_subscriptions (user_id)",
        ["foreign_keys_indexed"],
    ),
    (
        "schema_preparation",
        "post",
        "ALTER TABLE usage_metrics DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE usage_metrics ENABLE ROW LEVEL SECURITY",
        ["billing_tables_have_row_level_security"],
    ),
    (
        "ai_enhancement",
        "post",
        not_valid("portfolio_businesses", "fk_portfolio_businesses_portfolio_id"),
        "ALTER TABLE portfolio_businesses VALIDATE CONSTRAINT fk_portfolio_businesses_portfolio_id",
        ["foreign_keys_in_place", "foreign_keys_validated"],
    ),
    (
        "business_intelligence",
        "post",
        "ALTER TABLE valuations DISABLE TRIGGER trg_valuations_record_history",
        "ALTER TABLE valuations ENABLE TRIGGER trg_valuations_record_history",
        ["valuation_history_trigger_enabled"],
    ),
    (
        "finalization",
        "post",
        "ALTER TABLE payments DISABLE TRIGGER trg_payments_audit",
        "ALTER TABLE payments ENABLE TRIGGER trg_payments_audit",
        ["billing_audit_triggers_enabled"],
    ),
    (
        "data_guards",
        "post",
        not_valid("free_tier_assignments", "fk_free_tier_assignments_subscription_user"),
        "ALTER TABLE free_tier_assignments "
        "VALIDATE CONSTRAINT fk_free_tier_assignments_subscription_user",
        ["free_tier_assignment_keys_in_place", "foreign_keys_validated"],
    ),
    (
        "data_guards",
        "post",
        "DROP INDEX uq_free_tier_assignments_user_id",
        "CREATE UNIQUE INDEX uq_free_tier_assignments_user_id ON free_tier_assignments (user_id)",
        ["free_tier_assignment_keys_in_place"],
    ),
]


def test_checks_catch_failures_forced_on_the_real_schema(s, db_url):
    if not scalar(db_url, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
        pytest.skip("writing orphan rows needs session_replication_role (superuser)")
    expected: dict[str, int] = {}
    migrate_to(s, db_url, "investor", expected)

    # An orphan written with the keys switched off: the checks trust the validated key (what
    # dbkit no longer promises to see), `validate --deep` proves every key row by row.
    orphan = uid(4, "999999")
    bypassing_foreign_keys(db_url, f"INSERT INTO health_metrics (business_id) VALUES ({orphan})")
    trusted = cli(db_url, "validate", "--phase", "schema_preparation", "--pre")
    assert trusted.exit_code == 0, trusted.output
    deep = cli(db_url, "validate", "--phase", "schema_preparation", "--pre", "--deep", "--json")
    assert deep.exit_code == ExitCode.VALIDATION_FAILED == 3, deep.output
    found = [c for c in json.loads(deep.output)["checks"] if not c["passed"]]
    assert [(c["when"], c["name"], c["location"], c["rows_found"]) for c in found] == [
        (
            "deep check of foreign keys",
            "fk_health_metrics_business_id",
            "foreign key fk_health_metrics_business_id on health_metrics",
            1,
        )
    ]
    assert found[0]["sample"][0]["business_id"] == "00000004-0000-4000-8000-000000999999"
    query(db_url, f"DELETE FROM health_metrics WHERE business_id = {orphan}")
    assert cli(db_url, "validate", "--deep").exit_code == 0

    # A key the phase builds on that is not validated stops it before anything is applied
    # (002's pre-migration validation, from the catalog).
    query(db_url, not_valid("health_metrics", "fk_health_metrics_business_id"))
    result = cli(db_url, "migrate", "--phase", "schema_preparation")
    assert result.exit_code == ExitCode.VALIDATION_FAILED == 3, result.output
    assert "pre-check of phase schema_preparation failed: foreign_keys_in_place" in result.stderr
    assert "health_metrics" in result.stderr
    assert "nothing of phase schema_preparation was applied" in result.stderr
    assert version(db_url) == ["0014"]
    assert scalar(db_url, "SELECT to_regclass('subscription_plans')") is None
    query(db_url, "ALTER TABLE health_metrics VALIDATE CONSTRAINT fk_health_metrics_business_id")

    for phase in PHASES[PHASES.index("schema_preparation") :]:
        api.migrate(s, phase=phase)
        load(db_url, phase, expected)

    # The brief's case: a user loses the subscription the free tier gave them.
    query(db_url, f"DELETE FROM user_subscriptions WHERE user_id = {uid(1, '2999')}")
    bad = cli(db_url, "validate", "--phase", "user_migration", "--post", "--json")
    assert bad.exit_code == 3, bad.output
    report = json.loads(bad.output)
    assert report["ok"] is False
    assert [
        (c["when"], c["name"], c["rows_found"]) for c in report["checks"] if not c["passed"]
    ] == [
        ("post-check of phase user_migration", "users_have_subscription", 1),
    ]
    failures = [c for c in report["checks"] if not c["passed"]]
    assert failures[-1]["sample"][0]["email"] == "user2999@example.com"
    assert failures[-1]["location"] == "validations/phases/user_migration.post.sql:4"
    assert report["checks"][0]["location"].startswith("validations/")
    ok = cli(db_url, "validate", "--phase", "user_migration", "--pre")
    assert ok.exit_code == 0, ok.output

    # Each phase's typical failure is reported by that phase's checks.
    for phase, side, breaking, repair, names in TYPICAL_FAILURES:
        bypassing_foreign_keys(db_url, breaking)
        found = api.validate(s, phase=phase, post=side == "post", pre=side == "pre")
        by_phase = [c.name for c in found.failed if c.when == f"{side}-check of phase {phase}"]
        assert by_phase == names, (phase, breaking, [(c.when, c.name) for c in found.failed])
        query(db_url, repair)
        assert api.validate(s, phase=phase).failed == [], (phase, repair)
