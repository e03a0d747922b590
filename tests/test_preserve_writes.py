"""Issue 8 part 2: a phase's snapshot reads only the tables its SQL can write.

A preserved table the phase's files (up, down, level rollbacks, and every function, trigger,
rule and cascade they reach) cannot write is not digested: the snapshot records it as
``proven`` (columns, estimate, file). Every path by which a phase can write one still gets a
digest, and the loss is reported: an UPDATE in a migration, a function that deletes, a trigger,
a cascade, dynamic SQL, a rollback in a later run. A proven table written after all (an
analysis that missed a path) is still a failed check inside the migration.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from projects import Spec, write_project

from dbkit import api, settings
from dbkit.engine import preserve
from dbkit.errors import ValidationFailed
from dbkit.plan import sqltext
from dbkit.plan.literals import literal

BASE = Spec(
    "base",
    "core",
    "CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL);\n"
    "CREATE TABLE parents (id int PRIMARY KEY);\n"
    "CREATE TABLE kids (id int PRIMARY KEY, parent_id int NOT NULL\n"
    "    REFERENCES parents (id) ON DELETE CASCADE);\n"
    "CREATE TABLE events (id serial PRIMARY KEY, what text);\n"
    "CREATE TABLE copies (item_id bigint);\n"
    "CREATE FUNCTION relabel(p_id bigint) RETURNS void LANGUAGE plpgsql AS $$\n"
    "BEGIN\n    DELETE FROM items WHERE id = p_id;\nEND;\n$$;\n"
    "CREATE FUNCTION touch_item() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n    UPDATE items SET label = NEW.what WHERE id = 4;\n    RETURN NEW;\nEND;\n$$;\n"
    "CREATE TRIGGER trg_events_touch AFTER INSERT ON events\n"
    "FOR EACH ROW EXECUTE FUNCTION touch_item();\n"
    "CREATE FUNCTION poke(p_table text) RETURNS void LANGUAGE plpgsql AS $$\n"
    "BEGIN\n    EXECUTE format('UPDATE %I SET label = label || ''!'' WHERE id = 6', p_table);\n"
    "END;\n$$;\n"
    "CREATE FUNCTION stamp() RETURNS void LANGUAGE plpgsql AS $$\n"
    "BEGIN\n    EXECUTE format('DELETE FROM %I WHERE id = 6', 'items');\nEND;\n$$;\n"
    "INSERT INTO items SELECT 2 * g, 'i' || g FROM generate_series(1, 500) AS g;\n"
    "INSERT INTO parents SELECT g FROM generate_series(1, 20) AS g;\n"
    "INSERT INTO kids SELECT g, g FROM generate_series(1, 20) AS g;\n"
    "ANALYZE items; ANALYZE parents; ANALYZE kids;\n",
    "DROP TABLE copies, events, kids, parents, items;\n"
    "DROP FUNCTION stamp(), poke(text), touch_item(), relabel(bigint);\n",
)


def run(url, sql):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def scans(url, table) -> int:
    time.sleep(0.6)  # the statistics of finished sessions reach the shared counters
    found = run(
        url,
        "SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
        f"WHERE relname = '{table}'",
    )
    return found[0][0]


def project(tmp_path, db_url, up, down="SELECT 1;\n", preserve_line="items"):
    root = write_project(tmp_path / "p", [BASE, Spec("change", "change", up, down)])
    phases = root / "validations" / "phases"
    phases.mkdir(parents=True, exist_ok=True)
    (phases / "change.pre.sql").write_text(f"-- preserve: {preserve_line}\n")
    s = settings.resolve(root, url=db_url, environ={})
    api.migrate(s, to="0001")
    return s


def snapshot(db_url):
    rows = run(
        db_url,
        "SELECT s.tables, (SELECT count(*) FROM dbkit.preserved_chunks AS c "
        "WHERE c.snapshot_id = s.id) FROM dbkit.phase_snapshots AS s WHERE s.phase = 'change'",
    )
    return rows[0]


def test_a_phase_that_only_reads_a_preserved_table_does_not_digest_it(tmp_path, db_url):
    s = project(
        tmp_path,
        db_url,
        "INSERT INTO copies (item_id) SELECT id FROM items;\n",
        "DELETE FROM copies;\n",
    )
    before = scans(db_url, "items")
    api.migrate(s)
    # the migration's own read of items, and nothing of dbkit's (a digest reads it whole)
    assert scans(db_url, "items") == before + 1
    tables, chunks = snapshot(db_url)
    assert tables["public.items"]["proven"] is True
    assert tables["public.items"]["exact"] is False
    assert tables["public.items"]["columns"] == ["id", "label"]
    assert chunks == 0
    assert "proven" not in tables["public.copies"]
    api.rollback(s, phase="change")  # judged against it without reading items either
    assert scans(db_url, "items") == before + 1


@pytest.mark.parametrize(
    "up, lost",
    [
        ("UPDATE items SET label = 'x' WHERE id = 2;\n", 1),
        ("SELECT relabel(8);\n", 1),  # a function of the catalog that deletes
        ("INSERT INTO events (what) VALUES ('seen');\n", 1),  # a trigger of the catalog
        ("SELECT poke('items');\n", 1),  # dynamic SQL, names from a parameter: all tables
        ("SELECT stamp();\n", 1),  # dynamic SQL from constants: evaluated
        (
            "WITH gone AS (DELETE FROM items WHERE id IN (10, 12) RETURNING id)\n"
            "INSERT INTO copies SELECT id FROM gone;\n",
            2,
        ),  # a writable CTE
        (
            "INSERT INTO items VALUES (14, 'again') ON CONFLICT (id) DO UPDATE\n"
            "SET label = excluded.label;\n",
            1,
        ),
        ("DO $$\nBEGIN\n    DELETE FROM items WHERE id = 16;\nEND;\n$$;\n", 1),
    ],
    ids=["update", "function", "trigger", "dynamic", "dynamic-named", "cte", "upsert", "do"],
)
def test_every_way_a_phase_writes_a_preserved_table_is_digested_and_caught(
    tmp_path, db_url, up, lost
):
    s = project(tmp_path, db_url, up)
    with pytest.raises(ValidationFailed) as caught:
        api.migrate(s)
    assert f"public.items: {lost} preserved row" in str(caught.value)
    tables, chunks = snapshot(db_url)
    assert "proven" not in tables["public.items"]
    assert chunks == 1
    assert run(db_url, "SELECT count(*) FROM items") == [(500,)]  # rolled back


def test_a_cascade_from_a_written_parent_reaches_a_preserved_child(tmp_path, db_url):
    s = project(tmp_path, db_url, "DELETE FROM parents WHERE id = 3;\n", preserve_line="kids")
    with pytest.raises(ValidationFailed, match="public.kids: 1 preserved row changed"):
        api.migrate(s)
    tables, _ = snapshot(db_url)
    assert "proven" not in tables["public.kids"]


def test_a_rollback_that_writes_a_preserved_table_is_caught_in_a_later_run(tmp_path, db_url):
    s = project(
        tmp_path,
        db_url,
        "CREATE VIEW item_labels AS SELECT id, label FROM items;\n",
        "DROP VIEW item_labels;\nSELECT relabel(20);\n",
    )
    api.migrate(s)
    tables, chunks = snapshot(db_url)
    assert "proven" not in tables["public.items"] and chunks == 1  # the down file's call
    with pytest.raises(ValidationFailed, match="public.items: 1 preserved row changed"):
        api.rollback(s, phase="change")


def test_a_proven_table_written_after_all_is_still_caught(tmp_path, db_url, monkeypatch):
    # an analysis that missed a path: the migration's own counters still see the write
    monkeypatch.setattr(preserve, "writable", lambda *args, **kwargs: set())
    s = project(tmp_path, db_url, "UPDATE items SET label = 'x' WHERE id = 2;\n")
    with pytest.raises(ValidationFailed) as caught:
        api.migrate(s)
    assert "public.items: preserved, and proven not written by the phase's SQL, yet the " in (
        str(caught.value)
    )
    assert "updated 1 row" in str(caught.value)
    tables, chunks = snapshot(db_url)
    assert tables["public.items"]["proven"] is True and chunks == 0


def test_a_proven_table_that_lost_a_column_is_caught_at_rollback(tmp_path, db_url, monkeypatch):
    s = project(tmp_path, db_url, "CREATE VIEW item_ids AS SELECT id FROM items;\n")
    api.migrate(s)
    run(db_url, "ALTER TABLE items DROP COLUMN label")  # outside dbkit, between two runs
    with pytest.raises(ValidationFailed, match="public.items lost column label"):
        api.rollback(s, phase="change")


def test_the_catalog_paths_of_the_analysis(db_url):
    """Triggers, rules, views, inheritance, TRUNCATE .. CASCADE, an unreadable language."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (a_id int REFERENCES a);"
            "CREATE TABLE c (id int); CREATE TABLE d (id int); CREATE TABLE e () INHERITS (d);"
            "CREATE TABLE f (id int); CREATE VIEW v AS SELECT id FROM f;"
            "CREATE RULE r_c AS ON INSERT TO c DO ALSO DELETE FROM a;"
            "CREATE FUNCTION perl_ish() RETURNS int LANGUAGE internal AS 'int4inc';"
        )
        tables = [f"public.{t}" for t in "abcdef"]

        def changed(sql):
            found = preserve.writable(conn, [sqltext.writes(sql)], tables)
            return None if found is None else sorted(t.split(".")[1] for t in found)

        assert changed("INSERT INTO b VALUES (1)") == []  # plain insert: no row of b goes
        assert changed("DELETE FROM a") == ["a"]  # b's key is NO ACTION: it would fail
        assert changed("TRUNCATE a CASCADE") == ["a", "b"]
        assert changed("INSERT INTO c VALUES (1)") == ["a"]  # the rule's DELETE
        assert changed("UPDATE d SET id = 1") == ["d", "e"]  # the inheritance child
        assert changed("DELETE FROM v") == ["f"]  # the view's base table
        assert changed("SELECT perl_ish()") is None  # a language that cannot be read
        assert changed("SELECT count(*) FROM a") == []


@pytest.mark.parametrize(
    "sql, changes, unbounded",
    [
        ("ALTER TABLE t ALTER COLUMN x TYPE bigint", ["t"], None),
        ("ALTER TABLE t DROP COLUMN x", ["t"], None),
        ("ALTER TABLE t ADD COLUMN x int DEFAULT 0", [], None),
        ("ALTER TABLE t RENAME TO u", ["t"], None),
        ("DROP TABLE s.t", ["s.t"], None),
        ("DROP TYPE mood CASCADE", [], "DROP TYPE .. CASCADE"),
        ("DROP INDEX i CASCADE", [], None),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", ["t"], None),
        ("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", [], None),
        ("DROP OWNED BY someone", [], "DropOwnedStmt can reach every table"),
        ("ALTER TYPE mood RENAME VALUE 'a' TO 'b'", [], "ALTER TYPE .. RENAME VALUE"),
        ("ALTER TYPE mood ADD VALUE 'c'", [], None),
        (
            "CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION f()",
            [],
            "CreateEventTrigStmt can reach every table",
        ),
    ],
)
def test_what_a_statement_can_write(sql, changes, unbounded):
    found = sqltext.writes(sql)
    assert found["changes"] == changes
    assert found["unbounded"] == unbounded


def test_text_that_does_not_parse_falls_back_to_its_names():
    found = sqltext.writes("DELETE FROM items WHERE id = ANY (")
    assert "items" in found["named"]
    assert sqltext.body_writes("plperl", "...", None)["unbounded"] == (
        "a function in language plperl cannot be read"
    )


def test_dynamic_sql_is_analysed_when_built_from_constants_only():
    own = (
        "CREATE FUNCTION stamp() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n"
        "    EXECUTE format('DELETE FROM %I WHERE id %% 2 = %s', 'it' || 'ems', '0');\n"
        "    EXECUTE 'UPDATE ' || quote_ident('Other') || ' SET x = 1';\nEND;\n$$"
    )
    found = sqltext.body_writes("plpgsql", own, own)
    assert found["changes"] == ["items", "other"]
    assert found["unbounded"] is None
    # %L and %I quote as PostgreSQL does: the built text parses (a quote and a backslash in a
    # literal, a name that needs quotes)
    quoted = own.replace("id %% 2 = %s', 'it' || 'ems', '0'", "note = %L', 'items', 'it''s \\ x'")
    assert "%L" in quoted
    assert sqltext.body_writes("plpgsql", quoted, quoted)["changes"] == ["items", "other"]
    given = own.replace("stamp()", "stamp(p text)").replace("'it' || 'ems'", "p")
    assert sqltext.body_writes("plpgsql", given, given)["unbounded"] == (
        "dynamic SQL (EXECUTE) built from variables: any table may be named"
    )


def test_a_level_rollback_that_writes_a_preserved_table_is_digested_and_caught(tmp_path, db_url):
    # the data-level rollback file is part of what the phase can run against its snapshot
    root = write_project(
        tmp_path / "p",
        [BASE, Spec("change", "change", "CREATE VIEW item_ids AS SELECT id FROM items;\n", "")],
    )
    (root / "rollbacks" / "0002_change.data.sql").write_text(
        "UPDATE items SET label = 'wiped' WHERE id = 30;\n"
    )
    phases = root / "validations" / "phases"
    phases.mkdir(parents=True, exist_ok=True)
    (phases / "change.pre.sql").write_text("-- preserve: items\n")
    s = settings.resolve(root, url=db_url, environ={})
    api.migrate(s)
    tables, chunks = snapshot(db_url)
    assert "proven" not in tables["public.items"] and chunks == 1
    with pytest.raises(ValidationFailed, match="public.items: 1 preserved row changed"):
        api.rollback(s, phase="change", level="data")
    assert run(db_url, "SELECT label FROM items WHERE id = 30") == [("i15",)]  # not done


# Functions PostgreSQL runs with no call naming them (audit of the write analysis): each
# case deleted every row of ``keep`` on PostgreSQL while the analysis said nothing is written.
_ZAP = (
    "CREATE TABLE keep (id int PRIMARY KEY); CREATE TABLE log (id int, x int);"
    "INSERT INTO keep VALUES (1), (2);"
    "CREATE FUNCTION zap(int, int) RETURNS int LANGUAGE plpgsql AS $$\n"
    "BEGIN DELETE FROM public.keep; RETURN 1; END $$;"
    "CREATE FUNCTION zap1(int) RETURNS boolean LANGUAGE plpgsql AS $$\n"
    "BEGIN DELETE FROM public.keep; RETURN true; END $$;"
    "CREATE FUNCTION zapd() RETURNS int LANGUAGE plpgsql AS $$\n"
    "BEGIN DELETE FROM public.keep; RETURN 1; END $$;"
    "CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN RETURN NEW; END $$;"
    "CREATE FUNCTION imm(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$\n"
    "BEGIN PERFORM public.zapd(); RETURN $1; END $$;"
)


@pytest.mark.parametrize(
    "setup, sql",
    [
        ("CREATE AGGREGATE agg(int) (sfunc = zap, stype = int);", "SELECT agg(1)"),
        ("", "CREATE AGGREGATE agg(int) (sfunc = zap, stype = int); SELECT agg(1)"),
        ("CREATE OPERATOR === (function = zap, leftarg = int, rightarg = int);", "SELECT 1 === 2"),
        ("", "CREATE OPERATOR === (function = zap, leftarg = int, rightarg = int); SELECT 1 === 2"),
        (
            "CREATE TYPE tz AS (a int); CREATE FUNCTION to_tz(int) RETURNS tz LANGUAGE plpgsql"
            " AS $$ BEGIN DELETE FROM keep; RETURN ROW(1); END $$;"
            "CREATE CAST (int AS tz) WITH FUNCTION to_tz(int);",
            "SELECT 1::tz",
        ),
        (
            "CREATE DOMAIN dchk AS int CHECK (zap1(VALUE)); CREATE TABLE dl (x dchk);",
            "INSERT INTO dl VALUES (1)",
        ),
        (
            "CREATE DOMAIN ddef AS int DEFAULT zapd(); CREATE TABLE dd (y int, x ddef);",
            "INSERT INTO dd (y) VALUES (1)",
        ),
        (
            "CREATE TRIGGER tw BEFORE INSERT ON log FOR EACH ROW WHEN (zap1(NEW.x))"
            " EXECUTE FUNCTION noop();",
            "INSERT INTO log VALUES (1, 1)",
        ),
        (
            "",
            "CREATE TRIGGER tw BEFORE INSERT ON log FOR EACH ROW WHEN (zap1(NEW.x))"
            " EXECUTE FUNCTION noop(); INSERT INTO log VALUES (1, 1)",
        ),
        (
            "CREATE ROLE audit_owner; ALTER TABLE log OWNER TO audit_owner;"
            "ALTER TABLE keep OWNER TO audit_owner; ALTER FUNCTION zap1(int) OWNER TO audit_owner;"
            "CREATE POLICY pl ON log USING (zap1(x)); ALTER TABLE log ENABLE ROW LEVEL SECURITY;"
            "ALTER TABLE log FORCE ROW LEVEL SECURITY; INSERT INTO log VALUES (1, 1);"
            "SET ROLE audit_owner;",
            "SELECT * FROM log",
        ),
        ("INSERT INTO log VALUES (1, 1); CREATE INDEX li ON log ((imm(x)));", "REINDEX TABLE log"),
        ("INSERT INTO log VALUES (1, 1); CREATE INDEX li ON log ((imm(x)));", "ANALYZE log"),
        ("INSERT INTO log VALUES (1, 1); CREATE INDEX li ON log ((imm(x)));", "REINDEX INDEX li"),
        ("", "SELECT * FROM ts_stat('SELECT to_tsvector(public.zapd()::text)')"),
        ("", "ALTER FUNCTION zapd() RENAME TO gentle; SELECT gentle()"),
        (
            "CREATE PROCEDURE pz() LANGUAGE plpgsql AS $$ BEGIN DELETE FROM keep; END $$;",
            "ALTER PROCEDURE pz() RENAME TO pz2; CALL pz2()",
        ),
        ("CREATE VIEW kv AS SELECT * FROM keep;", "ALTER VIEW kv RENAME TO kv2; DELETE FROM kv2"),
        (
            "CREATE FUNCTION pg_catalog.sneaky() RETURNS int LANGUAGE plpgsql AS $$\n"
            "BEGIN DELETE FROM public.keep; RETURN 1; END $$;",
            "SELECT sneaky()",
        ),
        (
            "CREATE SCHEMA IF NOT EXISTS dbkit; CREATE FUNCTION dbkit.sneaky() RETURNS int"
            " LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.keep; RETURN 1; END $$;",
            "SELECT dbkit.sneaky()",
        ),
        (
            "INSERT INTO log VALUES (1, 1);"
            "ALTER TABLE log ADD CONSTRAINT ck CHECK (zap1(x)) NOT VALID;",
            "ALTER TABLE log VALIDATE CONSTRAINT ck",
        ),
    ],
    ids=[
        "aggregate",
        "aggregate-defined",
        "operator",
        "operator-defined",
        "cast",
        "domain-check",
        "domain-default",
        "trigger-when",
        "trigger-when-defined",
        "policy",
        "reindex",
        "analyze",
        "reindex-index",
        "ts_stat",
        "renamed-function",
        "renamed-procedure",
        "renamed-view",
        "user-function-in-pg-catalog",
        "user-function-in-dbkit-schema",
        "validate-constraint",
    ],
)
def test_code_run_without_the_text_naming_it_is_followed(db_url, setup, sql):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("BEGIN")
        try:
            conn.execute(_ZAP + setup)
            found = preserve.writable(conn, [sqltext.writes(sql)], ["public.keep", "public.log"])
            conn.execute(sql)  # PostgreSQL does delete keep's rows: the analysis must say so
            assert conn.execute("SELECT count(*) FROM keep").fetchone() == (0,)
            assert found is None or "public.keep" in found
        finally:
            conn.execute("ROLLBACK")


@pytest.mark.parametrize(
    "sql, unbounded",
    [
        ("ANALYZE", "VACUUM without a table"),
        ("VACUUM", "VACUUM without a table"),
        ("CLUSTER", "CLUSTER without a table"),
        ("REINDEX SCHEMA public", "REINDEX without a table"),
        ("REINDEX TABLE t", None),
        ("COPY t FROM PROGRAM 'cat'", "COPY .. PROGRAM"),
        ("SELECT dblink_exec('dbname=x', 'DELETE FROM t')", "dblink_exec() runs SQL text"),
    ],
)
def test_statements_that_can_reach_any_table_are_unbounded(sql, unbounded):
    assert sqltext.writes(sql)["unbounded"] == unbounded


def test_a_phase_that_calls_an_aggregate_built_on_a_deleting_function_is_caught(tmp_path, db_url):
    # an aggregate's state function runs with no call naming it in the phase's SQL
    s = project(tmp_path, db_url, "SELECT sweep(item_id) FROM copies;\n")
    run(
        db_url,
        "CREATE FUNCTION sweep_step(bigint, bigint) RETURNS bigint LANGUAGE plpgsql AS $$\n"
        "BEGIN DELETE FROM items WHERE id = $2; RETURN $2; END $$;\n"
        "CREATE AGGREGATE sweep(bigint) (sfunc = sweep_step, stype = bigint);\n"
        "INSERT INTO copies VALUES (22);",
    )
    with pytest.raises(ValidationFailed, match="public.items: 1 preserved row changed"):
        api.migrate(s)
    tables, chunks = snapshot(db_url)
    assert "proven" not in tables["public.items"] and chunks == 1


@pytest.mark.parametrize(
    "setup, sql",
    [
        (
            "CREATE TABLE keep (id int, v text) PARTITION BY RANGE (id);"
            "CREATE TABLE keep_a PARTITION OF keep FOR VALUES FROM (0) TO (100);",
            "ALTER TABLE keep DETACH PARTITION keep_a",
        ),
        (
            "CREATE TABLE keep (id int, v text); CREATE TABLE keep_c () INHERITS (keep);"
            "CREATE RULE to_child AS ON INSERT TO keep\n"
            "DO INSTEAD INSERT INTO keep_c VALUES (NEW.*);",
            "ALTER TABLE keep_c NO INHERIT keep",
        ),
        (
            "CREATE TABLE kk (k int PRIMARY KEY); INSERT INTO kk VALUES (1), (2);"
            "CREATE TABLE keep (id int REFERENCES kk ON UPDATE CASCADE, v text);",
            "UPDATE kk SET k = k + 100",
        ),
        (
            "CREATE TABLE kk (k int PRIMARY KEY); INSERT INTO kk VALUES (1), (2);"
            "CREATE TABLE keep (id int REFERENCES kk ON DELETE SET NULL, v text);",
            "DELETE FROM kk",
        ),
        (
            "CREATE TABLE kk (k int PRIMARY KEY); INSERT INTO kk VALUES (1), (2);"
            "CREATE TABLE keep (id int, v text);",
            "ALTER TABLE keep ADD CONSTRAINT f FOREIGN KEY (id) REFERENCES kk ON DELETE CASCADE;"
            "DELETE FROM kk",
        ),
        (
            "CREATE TABLE keep (id int, v text);",
            "ALTER TABLE keep ALTER COLUMN v TYPE int USING length(v)",
        ),
    ],
    ids=[
        "detach",
        "no-inherit",
        "update-cascade",
        "set-null",
        "fk-defined",
        "using",
    ],
)
def test_ways_rows_leave_a_table_that_the_analysis_already_saw(db_url, setup, sql):
    # audited and found safe; kept so that a change of the analysis cannot lose them
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("BEGIN")
        try:
            conn.execute(setup + "INSERT INTO keep (id, v) VALUES (1, 'a'), (2, 'b');")
            content = "SELECT count(*), string_agg(k::text, ',' ORDER BY k::text) FROM keep AS k"
            before = conn.execute(content).fetchone()
            found = preserve.writable(conn, [sqltext.writes(sql)], ["public.keep"])
            conn.execute(sql)
            assert conn.execute(content).fetchone() != before
            assert found is None or "public.keep" in found
        finally:
            conn.execute("ROLLBACK")


def test_a_write_to_a_foreign_table_is_unbounded(db_url):
    # postgres_fdw over this very database: DELETE FROM far_keep deletes keep's rows
    with psycopg.connect(db_url, autocommit=True) as conn:
        info = conn.info
        conn.execute(
            "CREATE TABLE keep (id int); INSERT INTO keep VALUES (1), (2);"
            "CREATE EXTENSION postgres_fdw;"
            f"CREATE SERVER loop FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname "
            f"{literal(info.dbname)}, host {literal(info.host)}, port {literal(str(info.port))});"
            "CREATE ROLE audit_fdw LOGIN SUPERUSER PASSWORD 'pw';"
            "CREATE USER MAPPING FOR CURRENT_USER SERVER loop"
            " OPTIONS (user 'audit_fdw', password 'pw');"
            "CREATE FOREIGN TABLE far_keep (id int) SERVER loop OPTIONS (table_name 'keep');"
        )
        try:
            sql = "DELETE FROM far_keep"
            assert preserve.writable(conn, [sqltext.writes(sql)], ["public.keep"]) is None
            conn.execute(sql)
            assert conn.execute("SELECT count(*) FROM keep").fetchone() == (0,)
        finally:
            conn.execute(
                "DROP USER MAPPING FOR CURRENT_USER SERVER loop; DROP SERVER loop CASCADE;"
                "DROP ROLE audit_fdw"
            )


def test_names_beyond_ascii_are_words_of_the_name_rule_and_of_definitions():
    # the name rule split größe into "gr" and "e", and an aggregate's löschen into "l", "schen"
    assert "größe" in sqltext.writes("DELETE FROM größe WHERE id = ANY (")["named"]
    assert (
        "löschen"
        in sqltext.writes("CREATE AGGREGATE a(int) (sfunc = löschen, stype = int)")["calls"]
    )
    assert (
        "löschen" in sqltext.body_writes("plpgsql", "BEGIN PERFORM löschen(1); END", None)["calls"]
    )


@pytest.mark.parametrize(
    "up",
    [
        "ALTER TABLE copies ADD CONSTRAINT ck_copies CHECK (wipe(item_id)) NOT VALID;\n"
        "ALTER TABLE copies VALIDATE CONSTRAINT ck_copies;\n",
        "ALTER TABLE copies ADD COLUMN seen boolean DEFAULT wipe(0);\n",
        "ALTER TABLE copies ADD CONSTRAINT ck_copies CHECK (item_id === 1);\n",
    ],
    ids=["validate-constraint", "add-column-default", "check-with-operator"],
)
def test_a_statement_that_keeps_rows_but_runs_a_deleting_function_is_caught(tmp_path, db_url, up):
    # ALTER TABLE actions that keep every row of their table still run code over its rows
    # (a check validated, a default filled in): the step is watched, and the function that
    # deletes from the preserved table is caught (it was digested, then never compared)
    s = project(tmp_path, db_url, up, "ALTER TABLE copies DROP CONSTRAINT IF EXISTS ck_copies;\n")
    run(
        db_url,
        "CREATE FUNCTION wipe(bigint) RETURNS boolean LANGUAGE plpgsql AS $$\n"
        "BEGIN DELETE FROM items WHERE id = 24; RETURN true; END $$;\n"
        "CREATE FUNCTION wipe_op(bigint, int) RETURNS boolean LANGUAGE sql"
        " AS 'SELECT wipe($1)';\n"
        "CREATE OPERATOR === (function = wipe_op, leftarg = bigint, rightarg = int);\n"
        "INSERT INTO copies VALUES (1);",
    )
    with pytest.raises(ValidationFailed, match="public.items: 1 preserved row changed"):
        api.migrate(s)
    tables, chunks = snapshot(db_url)
    assert "proven" not in tables["public.items"] and chunks == 1
    assert run(db_url, "SELECT count(*) FROM items") == [(500,)]


@pytest.mark.parametrize(
    "sql, watched",
    [
        ("ALTER TABLE t ADD COLUMN c int", False),
        ("ALTER TABLE t ADD COLUMN c text DEFAULT 'x'", False),
        ("ALTER TABLE t ADD CONSTRAINT k CHECK (x > 0) NOT VALID", False),
        ("ALTER TABLE t ADD CONSTRAINT k CHECK (x === 0)", True),
        ("ALTER TABLE t ADD COLUMN c int CHECK (c <> 0)", True),
        ("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES b", False),
        ("ALTER TABLE t ADD COLUMN c timestamptz DEFAULT clock()", True),
        ("ALTER TABLE t ADD COLUMN c mood_domain", True),
        ("ALTER TABLE t ADD CONSTRAINT k CHECK (allowed(x))", True),
        ("ALTER TABLE t VALIDATE CONSTRAINT k", True),
    ],
)
def test_a_row_keeping_alter_that_runs_code_over_rows_is_watched(sql, watched):
    assert sqltext.could_remove_rows(sql) is watched
