"""The phased validation workflow against real PostgreSQL: checks, preservation, guard, levels."""

from __future__ import annotations

import json

import psycopg
import pytest
from click.testing import CliRunner
from projects import Spec, write_project

from dbkit import api, settings
from dbkit.cli.app import main
from dbkit.errors import ExitCode, PlanError, ValidationFailed

CUSTOMERS = Spec(
    "customers",
    "core",
    "CREATE TABLE customers (\n    id bigint CONSTRAINT pk_customers PRIMARY KEY,\n"
    "    email text NOT NULL\n);\n"
    "INSERT INTO customers SELECT g, 'c' || g || '@x' FROM generate_series(1, 2000) AS g;\n",
    "DROP TABLE customers;\n",
)
PLANS = Spec(
    "plans",
    "billing",
    "CREATE TABLE plans (\n    id int CONSTRAINT pk_plans PRIMARY KEY,\n    name text NOT NULL,\n"
    "    is_active boolean NOT NULL DEFAULT true\n);\n"
    "INSERT INTO plans VALUES (1, 'Free'), (2, 'Pro');\n"
    "CREATE TABLE subscriptions (\n    customer_id bigint NOT NULL\n"
    "        CONSTRAINT fk_subscriptions_customer REFERENCES customers (id),\n"
    "    plan_id int NOT NULL CONSTRAINT fk_subscriptions_plan REFERENCES plans (id),\n"
    "    auto_assigned boolean NOT NULL DEFAULT false,\n"
    "    CONSTRAINT pk_subscriptions PRIMARY KEY (customer_id)\n);\n"
    "CREATE INDEX ix_subscriptions_plan ON subscriptions (plan_id);\n",
    "DROP TABLE subscriptions;\nDROP TABLE plans;\n",
)
FREE_TIER = Spec(
    "free_tier",
    "billing",
    "INSERT INTO subscriptions (customer_id, plan_id, auto_assigned)\n"
    "SELECT c.id, 1, true FROM customers AS c\n"
    "WHERE NOT EXISTS (SELECT FROM subscriptions AS s WHERE s.customer_id = c.id);\n",
    "DELETE FROM subscriptions WHERE auto_assigned;\n",
)

SUBSCRIBED = """\
-- check: customers_have_a_subscription
-- Every customer got a plan.
SELECT c.id, c.email
FROM customers AS c
WHERE NOT EXISTS (SELECT FROM subscriptions AS s WHERE s.customer_id = c.id);
"""


def build(tmp_path, specs, files=None):
    project = write_project(tmp_path / "proj", specs)
    for relative, text in (files or {}).items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return project


def resolve(project, url):
    return settings.resolve(project, url=url, environ={})


def query(url, sql):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def version(url):
    return [r[0] for r in query(url, "SELECT version_num FROM alembic_version")]


@pytest.mark.smoke
def test_checks_run_in_their_places_and_pass(tmp_path, db_url):
    project = build(
        tmp_path,
        [CUSTOMERS, PLANS, FREE_TIER],
        {
            "validations/0003_free_tier.post.sql": SUBSCRIBED,
            "validations/0003_free_tier.pre.sql": "-- check: plans_exist\n"
            "SELECT 'no Free plan' AS problem WHERE NOT EXISTS "
            "(SELECT FROM plans WHERE name = 'Free');\n",
            "validations/phases/billing.pre.sql": "-- check: customers_have_email\n"
            "SELECT id FROM customers WHERE email = '';\n",
            "validations/phases/billing.post.sql": "-- check: no_orphan_subscriptions\n"
            "SELECT s.customer_id FROM subscriptions AS s\n"
            "LEFT JOIN customers AS c ON c.id = s.customer_id WHERE c.id IS NULL;\n",
        },
    )
    result = api.migrate(resolve(project, db_url))
    assert [(c.when, c.name, c.rows_found) for c in result.checks] == [
        ("pre-check of phase billing", "customers_have_email", 0),
        ("pre-check of 0003_free_tier", "plans_exist", 0),
        ("post-check of 0003_free_tier", "customers_have_a_subscription", 0),
        ("post-check of phase billing", "no_orphan_subscriptions", 0),
    ]
    assert query(db_url, "SELECT count(*) FROM subscriptions") == [(2000,)]


def test_failed_pre_check_applies_nothing(tmp_path, db_url):
    project = build(
        tmp_path,
        [CUSTOMERS, PLANS, FREE_TIER],
        {
            "validations/phases/billing.pre.sql": "-- check: no_blank_emails\n"
            "SELECT id, email FROM customers WHERE email LIKE '%@x' AND id <= 3;\n"
        },
    )
    s = resolve(project, db_url)
    with pytest.raises(ValidationFailed) as caught:
        api.migrate(s)
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.VALIDATION_FAILED
    assert "pre-check of phase billing failed: no_blank_emails" in message
    assert "validations/phases/billing.pre.sql:1) found 3 rows" in message
    assert "first: id=1, email=c1@x" in message
    assert "nothing of phase billing was applied" in message
    assert version(db_url) == ["0001"]
    assert query(db_url, "SELECT to_regclass('plans')") == [(None,)]


def test_failed_migration_post_check_rolls_back_only_that_migration(tmp_path, db_url):
    partial = Spec(
        "free_tier",
        "billing",
        "INSERT INTO subscriptions (customer_id, plan_id, auto_assigned)\n"
        "SELECT c.id, 1, true FROM customers AS c WHERE c.id % 2 = 0;\n",
        "DELETE FROM subscriptions WHERE auto_assigned;\n",
    )
    project = build(
        tmp_path, [CUSTOMERS, PLANS, partial], {"validations/0003_free_tier.post.sql": SUBSCRIBED}
    )
    with pytest.raises(ValidationFailed) as caught:
        api.migrate(resolve(project, db_url))
    message = str(caught.value)
    assert "post-check of 0003_free_tier failed: customers_have_a_subscription" in message
    assert "found 1000 rows" in message
    assert "0003_free_tier was rolled back" in message
    assert [s.revision for s in caught.value.completed] == ["0001", "0002"]
    assert version(db_url) == ["0002"]
    assert query(db_url, "SELECT count(*) FROM subscriptions") == [(0,)]
    rows = query(db_url, "SELECT revision, outcome FROM dbkit.history ORDER BY id")
    assert rows[-1] == ("0003", "failed")


def test_no_auto_rollback_leaves_the_migration_applied(tmp_path, db_url):
    partial = Spec(
        "free_tier",
        "billing",
        "INSERT INTO subscriptions (customer_id, plan_id) SELECT id, 1 FROM customers "
        "WHERE id > 10;\n",
        "DELETE FROM subscriptions;\n",
    )
    project = build(
        tmp_path, [CUSTOMERS, PLANS, partial], {"validations/0003_free_tier.post.sql": SUBSCRIBED}
    )
    with pytest.raises(ValidationFailed, match="LEFT APPLIED for inspection"):
        api.migrate(resolve(project, db_url), auto_rollback=False)
    assert version(db_url) == ["0003"]
    assert query(db_url, "SELECT count(*) FROM subscriptions") == [(1990,)]


def test_failed_phase_post_check_rolls_back_the_phase_only(tmp_path, db_url):
    project = build(
        tmp_path,
        [CUSTOMERS, PLANS, FREE_TIER],
        {
            "validations/phases/billing.post.sql": "-- check: everyone_on_pro\n"
            "SELECT customer_id FROM subscriptions WHERE plan_id <> 2;\n"
        },
    )
    with pytest.raises(ValidationFailed) as caught:
        api.migrate(resolve(project, db_url))
    message = str(caught.value)
    assert "post-check of phase billing failed: everyone_on_pro" in message
    assert "phase billing was rolled back (2 migrations" in message
    assert version(db_url) == ["0001"]
    assert query(db_url, "SELECT to_regclass('plans'), count(*) FROM customers") == [(None, 2000)]


def test_data_loss_is_caught_and_undone(tmp_path, db_url):
    lossy = Spec("cleanup", "cleanup", "DELETE FROM customers WHERE id > 1990;\n", "SELECT 1;\n")
    project = build(tmp_path, [CUSTOMERS, lossy])
    with pytest.raises(ValidationFailed) as caught:
        api.migrate(resolve(project, db_url))
    message = str(caught.value)
    assert "data preservation of phase cleanup after 0002_cleanup failed" in message
    assert "data_preserved_public_customers" in message
    assert "public.customers lost 10 of 2000 rows" in message
    assert "0002_cleanup was rolled back" in message
    assert version(db_url) == ["0001"]
    assert query(db_url, "SELECT count(*) FROM customers") == [(2000,)]


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE customers CASCADE;",
        "DO $$ BEGIN DELETE FROM customers WHERE id = 5; END $$;",
        "ALTER TABLE customers RENAME TO clients;",
        "CREATE TABLE clients AS SELECT * FROM customers WHERE id < 5;\nDROP TABLE customers;",
    ],
    ids=["truncate", "delete-in-do-block", "rename", "drop"],
)
def test_every_way_of_losing_rows_is_caught(tmp_path, db_url, statement):
    lossy = Spec("lossy", "cleanup", statement + "\n", "SELECT 1;\n")
    project = build(tmp_path, [CUSTOMERS, lossy])
    with pytest.raises(ValidationFailed, match="data_preserved_public_customers"):
        api.migrate(resolve(project, db_url))
    assert query(db_url, "SELECT count(*) FROM customers") == [(2000,)]


def test_preserved_table_content_change_is_a_failed_check(tmp_path, db_url):
    rewrite = Spec(
        "rewrite",
        "cleanup",
        "ALTER TABLE customers ADD COLUMN note text;\nUPDATE customers SET email = upper(email) "
        "WHERE id = 7;\n",
        "UPDATE customers SET email = lower(email) WHERE id = 7;\n"
        "ALTER TABLE customers DROP COLUMN note;\n",
    )
    project = build(
        tmp_path,
        [CUSTOMERS, rewrite],
        {"validations/phases/cleanup.pre.sql": "-- preserve: customers\n"},
    )
    with pytest.raises(ValidationFailed, match="customers: 1 preserved row changed or removed"):
        api.migrate(resolve(project, db_url))
    assert version(db_url) == ["0001"]
    assert query(db_url, "SELECT email FROM customers WHERE id = 7") == [("c7@x",)]
    assert query(db_url, "SELECT count(*) FROM customers") == [(2000,)]


def test_new_rows_in_a_preserved_table_are_not_a_loss(tmp_path, db_url):
    signup = Spec(
        "signup",
        "cleanup",
        "ALTER TABLE customers ADD COLUMN note text;\n"
        "INSERT INTO customers (id, email) VALUES (5000, 'new@x');\n",
        "DELETE FROM customers WHERE id = 5000;\nALTER TABLE customers DROP COLUMN note;\n",
    )
    project = build(
        tmp_path,
        [CUSTOMERS, signup],
        {"validations/phases/cleanup.pre.sql": "-- preserve: customers\n"},
    )
    s = resolve(project, db_url)
    api.migrate(s)
    assert query(db_url, "SELECT count(*) FROM customers") == [(2001,)]
    stored = query(db_url, "SELECT count(*), sum(row_count) FROM dbkit.preserved_chunks")
    assert stored == [(1, 2000)]  # one key range of 2000 rows, no copy of them
    # Rolling the phase back removes only the row the phase added: no loss either.
    api.rollback(s, phase="cleanup")
    assert query(db_url, "SELECT count(*) FROM customers") == [(2000,)]


def test_rollback_of_a_phase_is_checked_against_the_stored_row_counts(tmp_path, db_url):
    greedy = Spec(
        "free_tier",
        "promo",
        FREE_TIER.up,
        "DELETE FROM subscriptions;\n",  # also removes subscriptions that existed before
    )
    project = build(tmp_path, [CUSTOMERS, PLANS, greedy])
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    query(db_url, "INSERT INTO subscriptions (customer_id, plan_id) VALUES (1, 2), (2, 2)")
    api.migrate(s)
    assert query(db_url, "SELECT count(*) FROM subscriptions") == [(2000,)]
    with pytest.raises(ValidationFailed) as caught:
        api.rollback(s, phase="promo")
    message = str(caught.value)
    assert "data preservation after rolling back promo failed" in message
    assert "public.subscriptions lost 2 of 2 rows" in message
    assert version(db_url) == ["0002"]


def test_rollback_levels_do_what_they_say_and_nothing_more(tmp_path, db_url):
    project = build(
        tmp_path,
        [CUSTOMERS, PLANS, FREE_TIER],
        {
            "rollbacks/0003_free_tier.data.sql": "DELETE FROM subscriptions WHERE auto_assigned;\n",
            "rollbacks/0002_plans.feature.sql": "UPDATE plans SET is_active = false;\n",
        },
    )
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    query(db_url, "INSERT INTO subscriptions (customer_id, plan_id) VALUES (1, 2), (2, 2)")
    api.migrate(s)
    assert query(db_url, "SELECT count(*) FROM subscriptions") == [(2000,)]

    feature = api.rollback(s, phase="billing", level="feature")
    assert [(x.revision, x.outcome) for x in feature.steps] == [
        ("0003", "skipped"),
        ("0002", "feature switched off"),
    ]
    assert "no feature-level rollback" in feature.steps[0].notes[0]
    assert query(db_url, "SELECT bool_or(is_active) FROM plans") == [(False,)]
    assert query(db_url, "SELECT count(*) FROM subscriptions") == [(2000,)]
    assert version(db_url) == ["0003"]

    shown = CliRunner().invoke(
        main,
        [
            "--project",
            str(project),
            "--url",
            db_url,
            "rollback",
            "--phase",
            "billing",
            "--level",
            "feature",
            "--dry-run",
        ],
    )
    assert shown.exit_code == 0, shown.output
    assert "rolled back at the feature level" in shown.output
    assert "would be rolled back at the feature level" in shown.output

    data = api.rollback(s, phase="billing", level="data")
    assert [(x.revision, x.outcome) for x in data.steps] == [
        ("0003", "data removed"),
        ("0002", "skipped"),
    ]
    assert query(db_url, "SELECT count(*), bool_and(NOT auto_assigned) FROM subscriptions") == [
        (2, True)
    ]
    assert query(db_url, "SELECT to_regclass('plans') IS NOT NULL") == [(True,)]
    assert version(db_url) == ["0003"]
    levels = query(
        db_url, "SELECT revision, level FROM dbkit.history WHERE level <> 'schema' ORDER BY id"
    )
    assert levels == [("0002", "feature"), ("0003", "data")]
    shown = CliRunner().invoke(main, ["--project", str(project), "--url", db_url, "history"])
    assert "down:feature" in shown.output and "down:data" in shown.output

    api.rollback(s, to="base")
    assert version(db_url) == []


def test_level_rollback_with_later_phases_applied_uses_the_first_phase_snapshot(tmp_path, db_url):
    promo = Spec("free_tier", "promo", FREE_TIER.up, FREE_TIER.down)
    later = Spec("later", "later", "CREATE TABLE audit_log (id int);\n", "DROP TABLE audit_log;\n")
    project = build(
        tmp_path,
        [CUSTOMERS, PLANS, promo, later],
        {"rollbacks/0003_free_tier.data.sql": "DELETE FROM subscriptions WHERE auto_assigned;\n"},
    )
    s = resolve(project, db_url)
    api.migrate(s, to="0002")
    query(db_url, "INSERT INTO subscriptions (customer_id, plan_id) VALUES (1, 2), (2, 2)")
    api.migrate(s)
    # The 'later' phase's snapshot counted the free-tier rows as existing; only promo's counts.
    result = api.rollback(s, phase="promo", level="data")
    assert [(x.revision, x.outcome) for x in result.steps] == [
        ("0004", "skipped"),
        ("0003", "data removed"),
    ]
    assert query(db_url, "SELECT count(*) FROM subscriptions") == [(2,)]


def test_level_rollback_that_would_lose_pre_existing_rows_changes_nothing(tmp_path, db_url):
    project = build(
        tmp_path,
        [CUSTOMERS, PLANS, FREE_TIER],
        {"rollbacks/0002_plans.data.sql": "DELETE FROM subscriptions;\nDELETE FROM customers;\n"},
    )
    s = resolve(project, db_url)
    api.migrate(s)
    with pytest.raises(ValidationFailed, match="nothing of it was done"):
        api.rollback(s, phase="billing", level="data")
    assert query(db_url, "SELECT count(*) FROM customers") == [(2000,)]
    assert query(db_url, "SELECT count(*) FROM subscriptions") == [(2000,)]


GUARD_TABLE = Spec(
    "events",
    "core",
    "CREATE TABLE events (\n    id bigint CONSTRAINT pk_events PRIMARY KEY,\n"
    "    kind int NOT NULL,\n    payload text NOT NULL\n);\n"
    "INSERT INTO events SELECT g, g % 1000, repeat('x', 40) FROM generate_series(1, 200000) g;\n"
    "CREATE INDEX ix_events_kind ON events (kind);\nANALYZE events;\n",
    "DROP TABLE events;\n",
)
KEY_QUERY = "-- key-query: events_of_a_kind\nSELECT id FROM events WHERE kind = 42;\n"


@pytest.mark.parametrize("attempt", range(3))
def test_performance_guard_trips_on_a_dropped_index(tmp_path, db_url, attempt):
    drop_index = Spec(
        "drop_kind_index",
        "tuning",
        "DROP INDEX ix_events_kind;\n",
        "CREATE INDEX ix_events_kind ON events (kind);\n",
    )
    project = build(
        tmp_path,
        [GUARD_TABLE, drop_index],
        {"validations/phases/tuning.perf.sql": KEY_QUERY},
    )
    with pytest.raises(ValidationFailed) as caught:
        api.migrate(resolve(project, db_url))
    message = str(caught.value)
    assert "performance guard of phase tuning failed: performance_events_of_a_kind" in message
    assert "phase tuning was rolled back" in message
    assert version(db_url) == ["0001"]
    assert query(db_url, "SELECT to_regclass('ix_events_kind') IS NOT NULL") == [(True,)]


@pytest.mark.parametrize("attempt", range(3))
def test_performance_guard_passes_an_unchanged_query(tmp_path, db_url, attempt):
    harmless = Spec(
        "add_column",
        "tuning",
        "ALTER TABLE events ADD COLUMN note text;\n",
        "ALTER TABLE events DROP COLUMN note;\n",
    )
    project = build(
        tmp_path, [GUARD_TABLE, harmless], {"validations/phases/tuning.perf.sql": KEY_QUERY}
    )
    result = api.migrate(resolve(project, db_url))
    assert len(result.guard) == 1
    assert not result.guard[0].tripped, result.guard[0].describe()
    assert version(db_url) == ["0002"]


def test_malformed_check_file_is_refused_before_connecting(tmp_path):
    project = build(
        tmp_path,
        [CUSTOMERS],
        {"validations/0001_customers.post.sql": "-- check: bad\nDELETE FROM customers;\n"},
    )
    with pytest.raises(PlanError, match="must be a SELECT"):
        api.migrate(resolve(project, "postgresql://x:y@127.0.0.1:1/z"))


def test_dry_run_with_checks_changes_nothing(tmp_path, db_url):
    from dbkit.compare import catalog

    project = build(
        tmp_path, [CUSTOMERS, PLANS, FREE_TIER], {"validations/0003_free_tier.post.sql": SUBSCRIBED}
    )
    s = resolve(project, db_url)
    api.migrate(s, to="0001")

    def state():
        with psycopg.connect(db_url, autocommit=True) as conn:
            data = conn.execute("SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM customers c")
            return catalog.snapshot(conn), data.fetchone()[0]

    before = state()
    result = api.migrate(s, dry_run=True)
    assert [c.passed for c in result.checks] == [True]
    assert [x.outcome for x in result.steps] == ["applied", "applied"]
    after = state()
    assert catalog.diff(before[0], after[0]) == []
    assert after[1] == before[1]
    assert version(db_url) == ["0001"]
    assert query(db_url, "SELECT count(*) FROM dbkit.history") == [(1,)]
    # The same for a rollback dry run.
    api.migrate(s)
    before = state()
    api.rollback(s, to="base", dry_run=True)
    assert catalog.diff(before[0], state()[0]) == []
    assert version(db_url) == ["0003"]


def test_validate_command_runs_checks_read_only(tmp_path, db_url):
    project = build(
        tmp_path, [CUSTOMERS, PLANS, FREE_TIER], {"validations/0003_free_tier.post.sql": SUBSCRIBED}
    )
    api.migrate(resolve(project, db_url))
    runner = CliRunner()
    ok = runner.invoke(main, ["--project", str(project), "--url", db_url, "validate", "--post"])
    assert ok.exit_code == 0, ok.output
    assert "customers_have_a_subscription" in ok.output and "1/1 checks passed" in ok.output
    query(db_url, "DELETE FROM subscriptions WHERE customer_id <= 4")
    bad = runner.invoke(
        main, ["--project", str(project), "--url", db_url, "validate", "--post", "--json"]
    )
    assert bad.exit_code == 3
    data = json.loads(bad.output)
    assert data["ok"] is False and data["command"] == "validate"
    assert data["checks"][0]["rows_found"] == 4
    assert data["checks"][0]["location"] == "validations/0003_free_tier.post.sql:1"


PAIRS = Spec(
    "pairs",
    "core",
    "CREATE TABLE parents (\n    a int,\n    b int,\n"
    "    CONSTRAINT pk_parents PRIMARY KEY (a, b)\n);\n"
    'CREATE TABLE "Children" (\n    id int CONSTRAINT pk_children PRIMARY KEY,\n    a int,\n'
    "    b int,\n"
    "    CONSTRAINT fk_children_parent FOREIGN KEY (a, b) REFERENCES parents (a, b)\n);\n"
    'CREATE INDEX ix_children_parent ON "Children" (a, b);\n',
    'DROP TABLE "Children";\nDROP TABLE parents;\n',
)


def test_validate_deep_proves_every_foreign_key_row_by_row(tmp_path, db_url):
    project = build(tmp_path, [PAIRS])
    api.migrate(resolve(project, db_url))
    with psycopg.connect(db_url, autocommit=True) as conn, conn.transaction():
        conn.execute("INSERT INTO parents VALUES (1, 1)")
        conn.execute("SET LOCAL session_replication_role = replica")  # the keys' triggers off
        conn.execute('INSERT INTO "Children" VALUES (1, 9, 9), (2, NULL, 9), (3, 1, 1), (4, 1, 9)')
    base = ["--project", str(project), "--url", db_url, "validate"]
    trusted = CliRunner().invoke(main, base)
    assert trusted.exit_code == 0, trusted.output  # the validated key is trusted
    deep = CliRunner().invoke(main, [*base, "--deep", "--json"])
    assert deep.exit_code == ExitCode.VALIDATION_FAILED, deep.output
    (check,) = json.loads(deep.output)["checks"]
    assert (check["name"], check["when"], check["location"], check["rows_found"]) == (
        "fk_children_parent",
        "deep check of foreign keys",
        'foreign key fk_children_parent on "Children"',
        2,  # (2, NULL, 9) refers to nothing under MATCH SIMPLE: not an orphan
    )
    assert sorted(row["id"] for row in check["sample"]) == [1, 4]
    assert set(check["sample"][0]) == {"id", "a", "b"}
    text = CliRunner().invoke(main, [*base, "--deep"])
    assert "fk_children_parent" in text.output and "0/1 checks passed" in text.output
    # the generated query is plain SQL a DBA can paste into psql
    from dbkit.engine.orphans import orphan_query

    pasted = orphan_query('"Children"', "parents", ["a", "b"], ["a", "b"], ["id"])
    assert sorted(query(db_url, pasted)) == [(1, 9, 9), (4, 1, 9)]
    query(db_url, 'DELETE FROM "Children" WHERE id IN (1, 4)')
    assert CliRunner().invoke(main, [*base, "--deep"]).exit_code == 0


def test_validation_exit_code_through_the_cli(tmp_path, db_url):
    project = build(
        tmp_path,
        [CUSTOMERS, PLANS, FREE_TIER],
        {"validations/phases/billing.pre.sql": "-- check: always\nSELECT 1 AS one;\n"},
    )
    result = CliRunner().invoke(main, ["--project", str(project), "--url", db_url, "migrate"])
    assert result.exit_code == 3
    assert "FAILED" in result.output
    assert result.stderr.strip().startswith("dbkit: error: pre-check of phase billing failed")


@pytest.mark.parametrize(
    "sql, may_lose",
    [
        ("CREATE TABLE a (id int);\nCREATE INDEX ix_a ON a (id);", False),
        ("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM x $$;", False),
        ("ALTER TABLE a ADD COLUMN b int, ENABLE ROW LEVEL SECURITY;", False),
        ("CREATE VIEW v AS SELECT 1;", False),
        ("DROP INDEX IF EXISTS ix_a; DROP VIEW v; DROP TRIGGER t ON a; DROP FUNCTION f();", False),
        ("DROP VIEW v CASCADE;", True),
        ("DROP TABLE a;", True),
        ("INSERT INTO a VALUES (1);", True),
        ("ALTER TABLE a DROP COLUMN b;", True),
        ("ALTER TABLE a ALTER COLUMN b TYPE text;", True),
        ("ALTER TABLE a RENAME TO b;", True),
        ("DO $$ BEGIN NULL; END $$;", True),
        ("SELECT purge_everything();", True),
        ("DELETE FROM a;", True),
        ("THIS DOES NOT PARSE delete", True),
    ],
)
def test_migrations_that_cannot_lose_rows_are_recognised(sql, may_lose):
    from dbkit.plan.sqltext import could_remove_rows

    assert could_remove_rows(sql) is may_lose


def test_checks_every_phase_shares_run_after_each_phase(tmp_path, db_url):
    from dbkit.lint.rules import lint_project

    project = build(
        tmp_path,
        [CUSTOMERS, PLANS, FREE_TIER],
        {
            "validations/phases/billing.post.sql": "-- check: own\nSELECT 1 WHERE false;\n",
            "validations/phases/_every.post.sql": "-- check: no_blank_emails\n"
            "SELECT id FROM customers WHERE email = '';\n",
        },
    )
    s = resolve(project, db_url)
    result = api.migrate(s)
    assert [(c.when, c.name) for c in result.checks] == [
        ("post-check of phase core", "no_blank_emails"),
        ("post-check of phase billing", "own"),
        ("post-check of phase billing", "no_blank_emails"),
    ]
    assert not [f for f in lint_project(project, sources=("dbkit",)).findings]
    query(db_url, "UPDATE customers SET email = '' WHERE id = 3")
    # Rolling billing back returns to the end of core: core's post-checks run, shared ones too.
    with pytest.raises(ValidationFailed, match="no_blank_emails.*stays rolled back"):
        api.rollback(s, phase="billing")
    assert version(db_url) == ["0001"]


def test_a_shared_key_query_is_timed_only_once_its_tables_exist(tmp_path, db_url):
    key = (
        "-- key-query: recent_subscriptions\n"
        "WITH recent AS (SELECT customer_id FROM subscriptions)\n"
        "SELECT count(*) FROM recent;\n"
    )
    project = build(
        tmp_path,
        [CUSTOMERS, PLANS, FREE_TIER, Spec("later", "later", "SELECT 1;\n", "SELECT 1;\n")],
        {"validations/phases/_every.perf.sql": key},
    )
    notes = []

    class Collect(api.Reporter):
        def note(self, text):
            notes.append(text)

    result = api.migrate(resolve(project, db_url), reporter=Collect())
    assert [(g.phase, g.name) for g in result.guard] == [("later", "recent_subscriptions")]
    assert notes == [
        "key query recent_subscriptions not timed for phase core: subscriptions does not exist yet",
        "key query recent_subscriptions not timed for phase billing: subscriptions does not "
        "exist yet",
    ]
