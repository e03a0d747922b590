"""``dbkit synth`` on real PostgreSQL: the unified schema with its profiles, and small projects
built here from the catalog alone (self-references, cycles, enums, CHECKs, unique keys)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from projects import Spec, write_project
from psycopg import sql

from dbkit import api, settings
from dbkit.cli import main
from dbkit.compare.catalog import snapshot
from dbkit.errors import DatabaseStateError, SynthError, SynthUsageError, UsageError

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "synth" / "profiles"


def rows(url, query, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def scalar(url, query, params=None):
    return rows(url, query, params)[0][0]


def table_counts(url) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
            )
        ]
        count = sql.SQL("SELECT count(*) FROM {}")
        return {n: conn.execute(count.format(sql.Identifier(n))).fetchone()[0] for n in names}


# -- the unified schema, migrated once per module and cloned per test -------------------------


@pytest.fixture(scope="module")
def unified_template(pg_server):
    name = pg_server.create_database()
    url = pg_server.url(name)
    api.migrate(settings.resolve(ROOT, url=url, environ={}))
    yield name
    pg_server.drop_database(name)


@pytest.fixture
def unified(pg_server, unified_template):
    """A fresh database at the unified schema's head (a clone of the module's template)."""
    made = []

    def make() -> str:
        name = f"{unified_template}_c{len(made)}"
        pg_server._execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(unified_template)
            )
        )
        made.append(name)
        return pg_server.url(name)

    yield make
    for name in made:
        pg_server.drop_database(name)


def s_for(url, project=ROOT):
    return settings.resolve(project, url=url, environ={})


pytestmark = pytest.mark.unified


def test_every_unified_table_is_filled_and_every_constraint_holds(unified):
    url = unified()
    before = table_counts(url)
    result = api.synth(s_for(url), scale=30, seed=1)
    after = table_counts(url)
    loaded = {t.table: t.rows for t in result.tables}
    # every table the profiles do not leave alone got its rows; the load committed as a whole
    skipped = {"subscription_plans", "free_tier_assignments", "data_retention_policies"}
    skipped |= {"billing_audit_log", "alembic_version"}
    for table in after:
        if table in skipped:
            continue
        assert loaded.get(table, 0) > 0, f"{table} got no rows"
        assert after[table] - before[table] >= loaded[table], table
    # the audit triggers ran on the billing tables (COPY fires row triggers)
    assert after["billing_audit_log"] > before["billing_audit_log"]
    # PostgreSQL enforced every NOT NULL, CHECK, unique and foreign key on the way in; the
    # schema's own checks agree (every post-check of the head state passes)
    report = api.validate(s_for(url), post=True)
    assert report.checks and not report.failed, [c.name for c in report.failed]
    # nullable catalog columns are sometimes NULL, not always
    nulls, total = rows(url, "SELECT count(*) FILTER (WHERE utm_campaign IS NULL), count(*) "
                             "FROM analytics_events")[0]  # fmt: skip
    assert 0 < nulls < total
    # per_parent: twelve ESG months and twelve trajectory months per company
    companies = loaded["companies"]
    assert loaded["esg_metrics"] == 12 * companies
    assert loaded["portfolio_metrics"] == 12 * companies
    # every synthetic row is marked and expires in about a week
    assert scalar(url, "SELECT bool_and(is_synthetic) FROM companies") is True
    left = "SELECT min(extract(epoch FROM expires_at - now())) / 86400 FROM investments"
    days = scalar(url, left)
    assert 6.9 < float(days) <= 7.0


def test_synth_data_passes_every_check_of_the_suite(unified):
    """Every pre- and post-check of every phase and migration (what bench_checks.py runs at
    size) passes on a database synth filled: synth's rows keep the schema's data rules, not
    only its constraints (every user has a subscription: seed 002's post-migration check)."""
    from dbkit.plan.graph import load_plan

    url = unified()
    api.synth(s_for(url), scale=30, seed=1)
    assert scalar(
        url,
        "SELECT count(*) FROM users u WHERE NOT EXISTS "
        "(SELECT FROM user_subscriptions us WHERE us.user_id = u.id)",
    ) == 0  # fmt: skip
    for phase in load_plan(ROOT).phases:
        report = api.validate(s_for(url), phase=phase)
        assert report.checks and not report.failed, (
            phase,
            [(c.when, c.name, c.rows_found, c.sample[:1]) for c in report.failed],
        )


def test_synth_data_rolls_back_past_the_archive_and_migrates_again(unified):
    """Rolling back 0034 puts valuations_archive's rows back into valuations, under
    valuations' CHECKs and foreign keys: synth's archived valuations must be valuations
    that could have been archived. Then the database migrates back to head."""
    url = unified()
    api.synth(s_for(url), scale=30, seed=2)
    archived = scalar(url, "SELECT count(*) FROM valuations_archive")
    live = scalar(url, "SELECT count(*) FROM valuations")
    assert archived > 0
    api.rollback(s_for(url), to="0033")
    assert scalar(url, "SELECT to_regclass('valuations_archive')") is None
    assert scalar(url, "SELECT count(*) FROM valuations") == live + archived
    result = api.migrate(s_for(url))
    assert result.steps and api.status(s_for(url)).pending == []
    assert scalar(url, "SELECT count(*) FROM valuations") == live + archived


def _digest(url, table):
    return scalar(
        url,
        sql.SQL(
            "SELECT md5(string_agg((to_jsonb(t) - 'expires_at' - 'updated_at')::text, '|' "
            "ORDER BY t.id)) FROM {} AS t"
        ).format(sql.Identifier(table)),
    )


def catalog_of(url):
    with psycopg.connect(url, autocommit=True) as conn:
        return snapshot(conn)


def test_bulk_load_rebuilds_exactly_what_it_dropped_and_writes_the_same_rows(unified):
    plain, bulk = unified(), unified()
    before = catalog_of(bulk)
    forced = api.synth(s_for(bulk), scale=20, seed=6, bulk=True)
    # every table went through bulk mode; the catalog is the one it was, object for object
    assert all(t.bulk for t in forced.tables)
    assert catalog_of(bulk) == before
    notes = {t.table: t.notes for t in forced.tables}
    assert any("bulk: loaded without its" in n and "foreign key" in n for n in notes["leads"])
    # the foreign keys were validated when added back: none is left NOT VALID
    assert scalar(
        bulk,
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated "
        "AND connamespace = 'public'::regnamespace",
    ) == scalar(
        plain,
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated "
        "AND connamespace = 'public'::regnamespace",
    )
    # bulk or not, the same seed writes the same rows (and the triggers did their work)
    never = api.synth(s_for(plain), scale=20, seed=6, bulk=False)
    assert not any(t.bulk for t in never.tables)
    for table in ("users", "companies", "leads", "payments", "esg_metrics", "activities"):
        assert _digest(plain, table) == _digest(bulk, table), table
    audit = "SELECT count(*) FROM billing_audit_log"
    assert scalar(plain, audit) == scalar(bulk, audit) > 0
    report = api.validate(s_for(bulk), post=True)
    assert report.checks and not report.failed, [c.name for c in report.failed]


def test_same_seed_same_rows_other_seed_other_rows(unified):
    first, second, third = unified(), unified(), unified()
    for url, seed in ((first, 7), (second, 7), (third, 8)):
        api.synth(s_for(url), scale=10, seed=seed)
    for table in ("users", "companies", "esg_metrics", "investments", "leads", "activities"):
        assert _digest(first, table) == _digest(second, table), table
        assert _digest(first, table) != _digest(third, table), table


def test_seed_001_patterns(unified):
    url = unified()
    api.synth(s_for(url), scale=60, seed=3, profiles=["auxeira", "billing"])
    patterns = json.loads(json.dumps(_constants()["PATTERNS"]))
    # growth within the industry's range (stored as a percentage)
    for industry, growth in rows(url, "SELECT industry, growth_rate FROM companies"):
        low, high = patterns[industry]["growth_rate_range"]
        assert low * 100 - 0.01 <= float(growth) <= high * 100 + 0.01, (industry, growth)
    # runway = funding / burn
    for funding, burn, runway in rows(
        url, "SELECT funding_raised, burn_rate, runway_months FROM companies"
    ):
        assert runway == round(float(funding) / float(burn))
    # ESG scores improve over the year: every company's last month beats its first on average
    improving = rows(
        url,
        """
        SELECT avg(last.overall_esg_score - first.overall_esg_score)
        FROM esg_metrics AS first
        JOIN esg_metrics AS last ON last.company_id = first.company_id
        WHERE first.metric_date = (SELECT min(metric_date) FROM esg_metrics)
          AND last.metric_date = (SELECT max(metric_date) FROM esg_metrics)
        """,
    )[0][0]
    assert float(improving) > 3  # +0.5 a month over 11 months, variance -3..+5 around it
    # the industry baseline shows: Clean Energy's environmental score beats Fintech's
    by_industry = dict(
        rows(
            url,
            "SELECT c.industry, avg(e.environmental_score) FROM esg_metrics e "
            "JOIN companies c ON c.id = e.company_id GROUP BY 1",
        )
    )
    if "Clean Energy" in by_industry and "Fintech" in by_industry:
        assert by_industry["Clean Energy"] > by_industry["Fintech"] + 15
    # investments: post-money = pre-money + amount; equity = amount / post-money
    for pre, amount, post, equity in rows(
        url,
        "SELECT pre_money_valuation, amount, post_money_valuation, equity_percentage "
        "FROM investments",
    ):
        assert abs(float(pre) + float(amount) - float(post)) < 0.02
        assert abs(float(amount) / float(post) * 100 - float(equity)) < 0.01
    # investors are VCs and angels, partners corporates
    kinds = {r[0] for r in rows(url, "SELECT u.user_type FROM investments i "
                                     "JOIN users u ON u.id = i.investor_id")}  # fmt: skip
    assert kinds <= {"vc", "angel"} and kinds
    assert {r[0] for r in rows(url, "SELECT u.user_type FROM corporate_partnerships p "
                                    "JOIN users u ON u.id = p.corporate_partner_id")} == {
        "corporate"
    }  # fmt: skip


def _constants():
    import tomllib

    return tomllib.loads((PROFILES / "auxeira.toml").read_text())["constants"]


def test_cleanup_removes_expired_synthetic_rows_and_reports_them(unified):
    url = unified()
    api.synth(s_for(url), scale=10, seed=4, profiles=["auxeira", "billing"], ttl="7d")
    kept = api.synth(s_for(url), cleanup=True)
    assert kept.removed == 0 and kept.removed_by_table == {}
    api.synth(s_for(url), scale=10, seed=5, profiles=["auxeira", "billing"], ttl="0s")
    before = scalar(url, "SELECT count(*) FROM esg_metrics")
    result = api.synth(s_for(url), cleanup=True)
    # the seed-5 rows expired at once; the seed-4 rows (a week to live) stay
    assert result.removed_by_table["esg_metrics"] == 120
    assert scalar(url, "SELECT count(*) FROM esg_metrics") == before - 120
    assert result.removed == sum(result.removed_by_table.values())
    out = CliRunner().invoke(main, ["--project", str(ROOT), "--url", url, "synth", "--cleanup"])
    assert out.exit_code == 0, out.output
    assert "removed 0 expired rows" in out.output


def test_cli_json_and_text(unified):
    url = unified()
    runner = CliRunner()
    out = runner.invoke(
        main,
        ["--project", str(ROOT), "--url", url, "synth", "--rows", "users=50", "--json"],
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["rows"] == 50 and data["tables"][0]["table"] == "users"
    out = runner.invoke(
        main,
        ["--project", str(ROOT), "--url", url, "synth", "--rows", "organizations=3", "--seed", "9"],
    )
    assert out.exit_code == 0, out.output
    assert "3 rows in 1 tables" in out.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--rows", "nosuch=10"], 2, "unknown table 'nosuch' in --rows"),
        (["--rows", "users"], 2, "expected TABLE=N"),
        (["--profile", "nosuch"], 2, "unknown profile 'nosuch'"),
        (["--ttl", "soon"], 2, "is not a duration"),
        (["--rows", "data_retention_policies=10"], 1, "is too small for 10 rows"),
        (["--cleanup", "--scale", "3"], 2, "it takes no --profile"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(unified, args, code, message):
    url = unified()
    before = table_counts(url)
    out = CliRunner().invoke(main, ["--project", str(ROOT), "--url", url, "synth", *args])
    assert out.exit_code == code, out.output
    assert out.output.startswith("dbkit: error: ") and message in out.output
    assert out.output.count("\n") == 1
    assert table_counts(url) == before


def test_unique_key_of_foreign_keys_too_small(unified):
    url = unified()
    with pytest.raises(SynthError, match="unique key .* too small"):
        wanted = {"users": 2, "portfolios": 2, "companies": 2, "portfolio_businesses": 5}
        api.synth(s_for(url), rows=wanted)


# -- any project, from the catalog alone ------------------------------------------------------

SCHEMA = Spec(
    "catalog",
    "core",
    """\
CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh');
CREATE TABLE departments (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    code varchar(4) NOT NULL UNIQUE,
    head_id uuid
);
CREATE TABLE people (
    id uuid PRIMARY KEY,
    department_id bigint NOT NULL REFERENCES departments (id),
    manager_id uuid REFERENCES people (id),
    email text NOT NULL UNIQUE,
    age smallint NOT NULL CHECK (age BETWEEN 18 AND 70),
    rating numeric(3, 1) CHECK (rating > 0 AND rating <= 5),
    level text NOT NULL CHECK (level IN ('junior', 'senior', 'staff')),
    feeling mood NOT NULL,
    started date NOT NULL,
    left_on date,
    CHECK (left_on >= started)
);
ALTER TABLE departments ADD FOREIGN KEY (head_id) REFERENCES people (id);
CREATE INDEX people_started_idx ON people (started) WHERE left_on IS NULL;
CREATE INDEX people_age_idx ON people (age);
ALTER TABLE people CLUSTER ON people_age_idx;
COMMENT ON INDEX people_started_idx IS 'who is still here';
COMMENT ON CONSTRAINT people_department_id_fkey ON people IS 'home department';
CREATE TABLE badges (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id uuid NOT NULL REFERENCES people (id),
    label text NOT NULL
);
CREATE TABLE awards (
    badge_id bigint NOT NULL REFERENCES badges (id),
    given date NOT NULL DEFAULT current_date
);
""",
    "DROP TABLE awards, badges, people, departments CASCADE; DROP TYPE mood;",
)


@pytest.fixture
def small(tmp_path, db_url):
    project = write_project(tmp_path / "proj", [SCHEMA])
    api.migrate(s_for(db_url, project))
    return project, db_url


def test_catalog_alone_satisfies_types_checks_keys_and_order(small):
    project, url = small
    result = api.synth(s_for(url, project), scale=300, seed=2)
    assert result.profiles == []
    assert {t.table: t.rows for t in result.tables} == {
        "departments": 300, "people": 300, "badges": 300, "awards": 300,
    }  # fmt: skip
    assert [t.table for t in result.tables].index("departments") < [
        t.table for t in result.tables
    ].index("people")
    # self-reference: managers are people; some have none
    assert scalar(url, "SELECT count(*) FROM people WHERE manager_id IS NULL") > 0
    assert scalar(url, "SELECT count(*) FROM people WHERE manager_id IS NOT NULL") > 0
    # the cycle departments.head_id -> people was cut on its nullable side and said so
    notes = {t.table: t.notes for t in result.tables}
    assert any("cycle" in n for n in notes["departments"])
    # enum, IN list, range, order
    assert {r[0] for r in rows(url, "SELECT DISTINCT feeling::text FROM people")} == {
        "happy", "sad", "meh",
    }  # fmt: skip
    assert scalar(url, "SELECT min(age) >= 18 AND max(age) <= 70 FROM people")
    assert scalar(url, "SELECT count(*) FROM people WHERE rating IS NOT NULL AND rating <= 0") == 0
    # badges' keys come from its identity; awards reference them through a sample
    assert scalar(url, "SELECT count(DISTINCT badge_id) FROM awards") > 1
    # the identity of departments was moved past the generated keys
    rows(url, "INSERT INTO departments (code) VALUES ('zz')")
    # a second run with another seed adds rows without collisions
    again = api.synth(s_for(url, project), rows={"people": 50}, seed=3)
    assert again.rows == 50


def test_profile_errors_name_the_file_and_write_nothing(small):
    project, url = small
    profiles = project / "synth" / "profiles"
    profiles.mkdir(parents=True)
    cases = [
        ("[tables.nosuch]\nrows = 1\n", SynthUsageError, "unknown table 'nosuch'"),
        ('[tables.people.columns]\nshoe_size = "3"\n', SynthUsageError, "has no column shoe_size"),
        ('[tables.people.columns]\nage = "agge + 1"\n', SynthUsageError, "unknown name 'agge'"),
        ('[tables.people.columns]\nage = "1 +"\n', SynthUsageError, "invalid expression"),
        ("[tables.people]\nrows = -1\n", SynthUsageError, "rows must be a number >= 0"),
        ('[tables.people.columns]\nage = "200"\n', SynthError, "check constraint"),
    ]
    for text, error, message in cases:
        (profiles / "bad.toml").write_text(text)
        with pytest.raises(error, match=message):
            api.synth(s_for(url, project), scale=20, seed=1)
        assert scalar(url, "SELECT count(*) FROM departments") == 0  # nothing written
    shutil.rmtree(profiles)


def test_unsatisfiable_check_and_not_at_head(tmp_path, db_url, make_db):
    spec = Spec(
        "odd",
        "core",
        "CREATE TABLE codes (code text NOT NULL CHECK (upper(code) = code));\n",
        "DROP TABLE codes;\n",
    )
    project = write_project(tmp_path / "p", [spec, SCHEMA])
    url = db_url
    api.migrate(s_for(url, project), to="0001")
    with pytest.raises(DatabaseStateError, match="not at the head 0002"):
        api.synth(s_for(url, project), scale=5)
    api.migrate(s_for(url, project))
    with pytest.raises(SynthError, match="cannot satisfy CHECK codes_code_check"):
        api.synth(s_for(url, project), scale=5)
    assert scalar(url, "SELECT count(*) FROM people") == 0
    assert api.synth(s_for(url, project), rows={"people": 5, "departments": 2}).rows == 7
    with pytest.raises(UsageError):
        api.synth(s_for(url, project), scale=-1)


def test_bulk_mode_is_decided_per_table_and_can_be_turned_off(small, monkeypatch):
    from dbkit.synth import bulk

    project, url = small
    monkeypatch.setattr(bulk, "MIN_ROWS", 40)
    first = api.synth(s_for(url, project), rows={"departments": 5, "people": 60}, seed=1)
    # people: 60 rows into an empty table -> bulk; departments: under MIN_ROWS -> plain COPY
    assert {t.table: t.bulk for t in first.tables} == {"departments": False, "people": True}
    # fewer rows than the table holds: rebuilding its indexes would cost more than it saves
    second = api.synth(s_for(url, project), rows={"people": 45}, seed=2)
    assert [t.bulk for t in second.tables] == [False]
    third = api.synth(s_for(url, project), rows={"people": 500}, seed=3, bulk=False)
    assert [t.bulk for t in third.tables] == [False]
    out = CliRunner().invoke(
        main,
        ["--project", str(project), "--url", url, "synth", "--rows", "people=10", "--seed", "4",
         "--bulk", "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert [t["bulk"] for t in json.loads(out.output)["tables"]] == [True]
    assert scalar(url, "SELECT count(*) FROM people") == 615


def test_bulk_mode_only_where_this_role_can_put_everything_back(small):
    from dbkit.synth import bulk

    project, url = small
    role = "synth_not_owner"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role}")
        try:
            conn.execute(f"GRANT SELECT, INSERT ON people, departments TO {role}")
            assert bulk.wanted(conn, '"public"."people"', 100, True)
            # not the owner: it could not drop the indexes (or recreate them)
            conn.execute(f"SET ROLE {role}")
            assert not bulk.wanted(conn, '"public"."people"', 100, True)
            assert not bulk.wanted(conn, '"public"."people"', 10**7, None)
            conn.execute("RESET ROLE")
            # the owner, but without REFERENCES on a parent: it could not add the key back
            conn.execute(f"ALTER TABLE people OWNER TO {role}")
            conn.execute(f"SET ROLE {role}")
            assert not bulk.wanted(conn, '"public"."people"', 100, True)
            conn.execute("RESET ROLE")
            conn.execute(f"GRANT REFERENCES ON departments TO {role}")
            conn.execute(f"SET ROLE {role}")
            assert bulk.wanted(conn, '"public"."people"', 100, True)
            conn.execute("RESET ROLE")
        finally:
            conn.execute("RESET ROLE")
            conn.execute("ALTER TABLE people OWNER TO CURRENT_USER")
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        # refused by a CHECK during the COPY, after the indexes and foreign keys were dropped
        ('[tables.people.columns]\nage = "200"\n', "people_age_check"),
        # refused when the foreign key is added back and validated
        ('[tables.people.columns]\ndepartment_id = "987654"\n', "people_department_id_fkey"),
    ],
)
def test_a_failed_bulk_load_leaves_the_catalog_and_the_rows_as_they_were(small, profile, message):
    project, url = small
    api.synth(s_for(url, project), rows={"departments": 3, "people": 20}, seed=1)
    before, counts = catalog_of(url), table_counts(url)
    profiles = project / "synth" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "bad.toml").write_text(profile)
    try:
        out = CliRunner().invoke(
            main,
            ["--project", str(project), "--url", url, "synth", "--rows", "people=300",
             "--seed", "2", "--bulk"],
        )  # fmt: skip
    finally:
        shutil.rmtree(profiles)
    assert out.exit_code == 1, out.output
    assert out.output.startswith("dbkit: error: the server refused a generated row of people")
    assert message in out.output and "nothing was written" in out.output
    assert out.output.count("\n") == 1
    assert catalog_of(url) == before
    assert table_counts(url) == counts


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_load_leaves_nothing_written(small, signum):
    project, url = small
    before = catalog_of(url)
    env = {**os.environ, "DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    dbkit = str(Path(sys.executable).with_name("dbkit"))
    proc = subprocess.Popen(
        [dbkit, "--project", str(project), "--url", url, "synth", "--rows", "departments=5",
         "--rows", "people=5000000", "--seed", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    copying = False
    while time.monotonic() < deadline and not copying:
        copying = bool(
            rows(
                url,
                "SELECT 1 FROM pg_stat_activity WHERE application_name = 'dbkit' "
                "AND query ILIKE 'COPY %%people%%'",
            )
        )
        time.sleep(0.1)
    assert copying, proc.communicate(timeout=30)
    # bulk mode: the load holds people's ACCESS EXCLUSIVE lock (its indexes are dropped)
    assert rows(
        url,
        "SELECT 1 FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
        "WHERE a.application_name = 'dbkit' AND l.relation = 'people'::regclass "
        "AND l.mode = 'AccessExclusiveLock' AND l.granted",
    )
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == (130 if signum == signal.SIGINT else 143), err
    assert f"interrupted by {signal.Signals(signum).name}" in err
    assert err.strip().startswith("dbkit: error: ") and "nothing was changed" in err
    assert scalar(url, "SELECT count(*) FROM people") == 0
    assert scalar(url, "SELECT count(*) FROM departments") == 0
    assert not rows(url, "SELECT 1 FROM pg_stat_activity WHERE application_name = 'dbkit'")
    # people (5M rows) loaded in bulk mode: its indexes and foreign keys were dropped when the
    # signal came; the rollback put every one of them back
    assert catalog_of(url) == before


# -- the generator thread, batching and the ANALYZE after the commit ---------------------------


def test_rows_do_not_depend_on_batching_nor_on_the_generator_thread(unified, monkeypatch):
    from dbkit.synth import loader
    from dbkit.synth.generate import CHUNK

    threaded, inline = unified(), unified()
    switch = sys.getswitchinterval()
    api.synth(s_for(threaded), scale=12, seed=9)
    assert sys.getswitchinterval() == switch  # lowered for the load only
    # no generator thread, and COPY statements of one block each
    monkeypatch.setattr(loader, "AHEAD", 0)
    monkeypatch.setattr(loader, "BATCH", CHUNK)
    api.synth(s_for(inline), scale=12, seed=9)
    for table in ("users", "companies", "esg_metrics", "portfolio_metrics", "leads", "payments"):
        assert _digest(threaded, table) == _digest(inline, table), table
    # a block asked for from its middle gives the same text as the whole block cut there
    with psycopg.connect(threaded, autocommit=True) as conn:
        from dbkit.synth import catalog, profiles

        tables = catalog.read_tables(conn)
        plans = []
        monkeypatch.setattr(
            loader,
            "_load",
            lambda conn, plan, *a: (
                plans.append(plan) or (loader.TableLoad(plan.table.qualified, plan.rows))
            ),
        )
        loader.run(conn, tables, profiles.load(ROOT, None), scale=700, rows={}, seed=9,
                   ttl=loader.parse_ttl("7d"))  # fmt: skip
    plan = next(p for p in plans if p.table.name == "esg_metrics")
    assert plan.rows > 2 * CHUNK
    whole = plan.chunk(0, 2 * CHUNK + 10)
    cut = CHUNK + 1000
    assert plan.chunk(0, cut) + plan.chunk(cut, 2 * CHUNK + 10) == whole
    assert whole.count("\n") == 2 * CHUNK + 10


def test_two_children_of_a_parent_whose_keys_postgresql_generates(tmp_path, db_url):
    spec = Spec(
        "generated_keys",
        "core",
        "CREATE TABLE tickets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, t text);\n"
        "CREATE TABLE replies (ticket_id bigint NOT NULL REFERENCES tickets (id));\n"
        "CREATE TABLE tags (ticket_id bigint NOT NULL REFERENCES tickets (id));\n",
        "DROP TABLE tags, replies, tickets;\n",
    )
    project = write_project(tmp_path / "p", [spec])
    api.migrate(s_for(db_url, project))
    result = api.synth(s_for(db_url, project), rows={"tickets": 50, "replies": 9000, "tags": 70})
    assert {t.table: t.rows for t in result.tables} == {"tickets": 50, "replies": 9000, "tags": 70}
    # both children were compiled again with the parent's loaded keys (none is NULL)
    assert scalar(db_url, "SELECT count(DISTINCT ticket_id) FROM replies") == 50
    assert scalar(db_url, "SELECT count(*) FROM tags WHERE ticket_id IS NULL") == 0


def _analyzed(url, table):
    return scalar(
        url, "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = %s", (table,)
    )


def test_tables_are_analyzed_after_the_commit_or_left_to_autovacuum(small):
    project, url = small
    result = api.synth(s_for(url, project), rows={"departments": 20, "people": 3000}, seed=5)
    assert all(t.analyze_ms > 0 for t in result.tables)
    assert _analyzed(url, "people") and _analyzed(url, "departments")
    # the statistics the planner reads are there when the command returns
    assert scalar(url, "SELECT reltuples FROM pg_class WHERE relname = 'people'") == 3000
    out = CliRunner().invoke(
        main,
        ["--project", str(project), "--url", url, "synth", "--rows", "badges=40", "--seed", "6",
         "--no-analyze", "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert [t["analyze_ms"] for t in data["tables"]] == [0] and data["analyze_ms"] < 50
    assert 0 < result.analyze_ms < result.duration_ms
    assert scalar(url, "SELECT count(*) FROM badges") == 40


def test_a_table_locked_by_another_session_is_left_to_autovacuum(small):
    project, url = small
    with psycopg.connect(url) as other:
        other.execute("LOCK TABLE people IN SHARE UPDATE EXCLUSIVE MODE")  # blocks ANALYZE only
        quick = dataclasses.replace(s_for(url, project), lock_timeout="300ms")
        result = api.synth(quick, rows={"departments": 3, "people": 200}, seed=7, bulk=False)
        other.rollback()
    notes = {t.table: t.notes for t in result.tables}
    assert any("not analyzed" in n and "autovacuum" in n for n in notes["people"])
    assert not any("not analyzed" in n for n in notes["departments"])
    assert scalar(url, "SELECT count(*) FROM people") == 200
    assert not _analyzed(url, "people") and _analyzed(url, "departments")


def test_an_analyze_that_fails_keeps_the_committed_rows_and_says_so(small):
    project, url = small
    # an expression index whose function refuses to run under ANALYZE (it runs under COPY)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION no_analyze(n uuid) RETURNS uuid LANGUAGE plpgsql IMMUTABLE AS "
            "$$BEGIN IF current_query() ILIKE 'analyze%' THEN RAISE EXCEPTION 'no statistics "
            "here'; END IF; RETURN n; END$$"
        )
        conn.execute("CREATE INDEX ix_people_no_analyze ON people ((no_analyze(id)))")
    out = CliRunner().invoke(
        main,
        ["--project", str(project), "--url", url, "synth", "--rows", "departments=3",
         "--rows", "people=200", "--seed", "9", "--no-bulk"],
    )  # fmt: skip
    assert out.exit_code == 1, out.output
    errors = [line for line in out.output.splitlines() if line.startswith("dbkit: error:")]
    assert len(errors) == 1, out.output
    assert "the 203 rows loaded were committed, but ANALYZE failed" in errors[0]
    assert "no statistics here" in errors[0]
    assert scalar(url, "SELECT count(*) FROM people") == 200


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_analyze_keeps_the_committed_rows_and_says_so(small, signum):
    project, url = small
    (project / "dbkit.toml").write_text('lock_timeout = "120s"\n')
    env = {**os.environ, "DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    dbkit = str(Path(sys.executable).with_name("dbkit"))
    with psycopg.connect(url) as other:
        other.execute("LOCK TABLE people IN SHARE UPDATE EXCLUSIVE MODE")
        proc = subprocess.Popen(
            [dbkit, "--project", str(project), "--url", url, "synth", "--rows", "departments=4",
             "--rows", "people=300", "--seed", "8", "--no-bulk"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        waiting = False
        while time.monotonic() < deadline and not waiting:
            waiting = bool(
                rows(
                    url,
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = 'dbkit' "
                    "AND query ILIKE 'ANALYZE %%people%%' AND wait_event_type = 'Lock'",
                )
            )
            time.sleep(0.1)
        assert waiting, proc.communicate(timeout=30)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
        other.rollback()
    assert proc.returncode == (130 if signum == signal.SIGINT else 143), err
    assert err.strip().startswith("dbkit: error: interrupted by "), err
    assert "ANALYZE" in err and "rows loaded were committed" in err, err
    assert err.count("\n") == 1, err
    assert scalar(url, "SELECT count(*) FROM people") == 300
    assert not rows(url, "SELECT 1 FROM pg_stat_activity WHERE application_name = 'dbkit'")


def test_rows_alone_on_a_table_whose_profile_needs_its_parent_in_the_run(unified):
    """user_subscriptions (one per user) and valuations_archive (real companies) need their
    parents generated in the same run: one line naming it, nothing written; with the parents
    in the run they load."""
    url = unified()
    before = table_counts(url)
    with pytest.raises(SynthError, match=r"user_subscriptions\.per_parent: user_id"):
        api.synth(s_for(url), rows={"user_subscriptions": 5})
    with pytest.raises(SynthError, match=r"pick\('companies'\): companies is not generated"):
        api.synth(s_for(url), rows={"valuations_archive": 5})
    assert table_counts(url) == before
    result = api.synth(
        s_for(url),
        rows={"users": 4, "user_subscriptions": 4, "companies": 2, "valuations_archive": 3},
    )
    assert {t.table: t.rows for t in result.tables}["valuations_archive"] == 3


def test_clamp_with_literal_bounds_is_compiled_to_min_max_with_the_same_values():
    import ast
    import math

    from dbkit.synth.generate import _HELPERS, _Clamp

    ns = {"_math": math, "_cache": lambda f: f}
    exec(_HELPERS, ns)  # the profile helper, clamp(x, lo, hi)
    rewritten = ast.unparse(_Clamp().visit(ast.parse("clamp(x * 2, -99, 999.5)", mode="eval")))
    assert rewritten == "min(max(x * 2, -99), 999.5)"
    for x in (-1e9, -49.5, -50, 0, 3, 499.75, 1e9, math.inf, -math.inf):
        want = ns["clamp"](x * 2, -99, 999.5)
        got = eval(rewritten, {"x": x})  # noqa: S307
        assert got == want and type(got) is type(want), x
    assert math.isnan(eval(rewritten, {"x": math.nan}))  # noqa: S307
    # bounds that are not literal numbers in order stay a call of the helper
    for text in ("clamp(x, 5, 1)", "clamp(x, lo, 9)", "clamp(x, 0, 9, 1)"):
        assert ast.unparse(_Clamp().visit(ast.parse(text, mode="eval"))) == text
