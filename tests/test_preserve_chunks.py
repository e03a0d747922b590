"""Issue 8 part 2, small: the workflow's own cost is what a loss needs, and no more.

- A phase whose statements cannot remove rows (the cached verdict) counts no table they name:
  the catalog's estimate is noted and, inside each migration, its own tuple counters decide.
- A preserved table is digested per primary-key range (bounds, rows, a 64-bit hash sum), so the
  registry holds O(chunks) rows, not one per row; a changed row is reported with its key range,
  rows inserted inside a range since the snapshot are told apart by xmin (no loss).
- A registry-5 snapshot (one md5 per row) of a phase not rolled back is still judged after the
  registry is upgraded to version 6.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from projects import Spec, write_project

from dbkit import api, settings
from dbkit.engine import preserve
from dbkit.errors import ValidationFailed

ITEMS = Spec(
    "items",
    "core",
    "CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL);\n"
    "CREATE TABLE notes (body text);\n"  # no primary key, no unique key
    "CREATE TABLE pairs (a int NOT NULL, b text NOT NULL, v int, PRIMARY KEY (a, b));\n"
    "INSERT INTO items SELECT 2 * g, 'i' || g FROM generate_series(1, 3000) AS g;\n"
    "INSERT INTO notes SELECT 'n' || g FROM generate_series(1, 50) AS g;\n"
    "INSERT INTO pairs SELECT g / 10, 'k' || g % 10, g FROM generate_series(0, 999) AS g;\n"
    "ANALYZE items; ANALYZE notes; ANALYZE pairs;\n",
    "DROP TABLE pairs, notes, items;\n",
)


def run(url, sql):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def seq_scans(url, table) -> int:
    time.sleep(0.6)  # the statistics of finished sessions reach the shared counters
    return run(url, f"SELECT seq_scan FROM pg_stat_user_tables WHERE relname = '{table}'")[0][0]


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(preserve, "CHUNK_ROWS", 1000)


def resolved(tmp_path, db_url, up, down="SELECT 1;\n", preserve_line=None):
    project = write_project(tmp_path / "p", [ITEMS, Spec("change", "change", up, down)])
    if preserve_line:
        phases = project / "validations" / "phases"
        phases.mkdir(parents=True, exist_ok=True)
        (phases / "change.pre.sql").write_text(f"-- preserve: {preserve_line}\n")
    s = settings.resolve(project, url=db_url, environ={})
    api.migrate(s, to="0001")
    return s


def test_a_phase_whose_files_cannot_remove_rows_counts_no_table_it_names(tmp_path, db_url):
    # up creates a view over items, down drops it: neither can remove a row
    s = resolved(
        tmp_path,
        db_url,
        "CREATE VIEW item_labels AS SELECT id, label FROM items;\n",
        "DROP VIEW item_labels;\n",
    )
    before = seq_scans(db_url, "items")
    api.migrate(s)
    assert seq_scans(db_url, "items") == before  # no count(*) over the table the phase names
    tables = run(db_url, "SELECT tables FROM dbkit.phase_snapshots WHERE phase = 'change'")[0][0]
    assert tables["public.items"]["exact"] is False
    assert tables["public.items"]["rows"] == 3000  # the catalog's estimate
    # rolling the phase back is judged against that snapshot without a scan either
    api.rollback(s, phase="change")
    assert seq_scans(db_url, "items") == before


def test_only_the_statements_that_can_remove_rows_choose_what_is_counted(tmp_path, db_url):
    # the down file drops the phase's own table (a statement that removes rows) and names
    # items in a comment statement (which cannot): items is not counted, then or at rollback
    s = resolved(
        tmp_path,
        db_url,
        "CREATE TABLE item_tags (item_id bigint, tag text);\nCOMMENT ON TABLE items IS 'tagged';\n",
        "COMMENT ON TABLE items IS NULL;\nDROP TABLE item_tags;\n",
    )
    before = seq_scans(db_url, "items")
    api.migrate(s)
    tables = run(db_url, "SELECT tables FROM dbkit.phase_snapshots WHERE phase = 'change'")[0][0]
    assert tables["public.items"]["exact"] is False
    api.rollback(s, phase="change")
    assert seq_scans(db_url, "items") == before


@pytest.mark.parametrize(
    "returns, run_it",
    [
        ("void", "SELECT purge_items();"),
        (
            "trigger",
            "CREATE TRIGGER trg_notes_purge AFTER INSERT ON notes FOR EACH ROW EXECUTE "
            "FUNCTION purge_items();\nINSERT INTO notes VALUES ('x');",
        ),
    ],
    ids=["called", "trigger"],
)
def test_code_the_phase_defines_is_followed_when_it_can_run(tmp_path, db_url, returns, run_it):
    back = "RETURN NULL" if returns == "trigger" else "RETURN"
    s = resolved(
        tmp_path,
        db_url,
        f"CREATE FUNCTION purge_items() RETURNS {returns} LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"    DELETE FROM items WHERE id <= 20;\n    {back};\nEND;\n$$;\n{run_it}\n",
    )
    with pytest.raises(ValidationFailed, match="public.items lost 10 of 3000 rows"):
        api.migrate(s)
    tables = run(db_url, "SELECT tables FROM dbkit.phase_snapshots WHERE phase = 'change'")[0][0]
    assert "exact" not in tables["public.items"]  # followed into the function: counted
    assert tables["public.pairs"]["exact"] is False


def test_a_phase_that_can_remove_rows_still_counts_and_catches_the_loss(tmp_path, db_url):
    # the down file deletes rows that existed before the phase: items is counted exactly,
    # and the rollback (a later run) is caught against the stored count
    s = resolved(
        tmp_path,
        db_url,
        "CREATE VIEW item_labels AS SELECT id, label FROM items;\n",
        "DELETE FROM items WHERE id <= 20;\nDROP VIEW item_labels;\n",
    )
    api.migrate(s)
    tables = run(db_url, "SELECT tables FROM dbkit.phase_snapshots WHERE phase = 'change'")[0][0]
    assert "exact" not in tables["public.items"]
    assert tables["public.notes"]["exact"] is False  # not named by the deleting file
    with pytest.raises(ValidationFailed, match="public.items lost 10 of 3000 rows"):
        api.rollback(s, phase="change")


def test_a_changed_row_inside_a_chunk_is_reported_with_its_key_range(
    tmp_path, db_url, small_chunks
):
    s = resolved(
        tmp_path,
        db_url,
        "UPDATE items SET label = 'changed' WHERE id = 2500;\n",
        preserve_line="items",
    )
    with pytest.raises(ValidationFailed) as caught:
        api.migrate(s)
    message = str(caught.value)
    # ids 2..6000 step 2: ranges of 1000 rows are 2..2000, 2002..4000, 4002..6000
    assert "public.items: 1 preserved row changed or removed in key (id) range 2002..4000" in (
        message
    )
    sample = caught.value.results[0].sample[0]
    assert sample["ranges"] == [
        {"from": ["2002"], "to": ["4000"], "rows_before": 1000, "changed": 1}
    ]
    assert run(db_url, "SELECT label FROM items WHERE id = 2500") == [("i1250",)]  # undone


def test_storage_is_one_row_per_chunk_and_new_rows_are_not_a_loss(tmp_path, db_url, small_chunks):
    # new rows inside a range (odd ids between the even ones) and beyond every range
    s = resolved(
        tmp_path,
        db_url,
        "INSERT INTO items SELECT 2 * g + 1, 'new' FROM generate_series(1, 2999) AS g;\n"
        "INSERT INTO items VALUES (100000, 'beyond');\n",
        "DELETE FROM items WHERE id % 2 = 1 OR id = 100000;\n",
        preserve_line="items",
    )
    api.migrate(s)
    stored = run(
        db_url,
        "SELECT chunk, low_key, high_key, row_count FROM dbkit.preserved_chunks ORDER BY chunk",
    )
    assert stored == [
        (0, ["2"], ["2000"], 1000),
        (1, ["2002"], ["4000"], 1000),
        (2, ["4002"], ["6000"], 1000),
    ]
    assert run(db_url, "SELECT count(*) FROM dbkit.preserved_rows") == [(0,)]
    # rolling back removes only the phase's rows: no loss either, judged in a later run
    api.rollback(s, phase="change")
    assert run(db_url, "SELECT count(*) FROM items") == [(3000,)]


def test_a_rollback_in_a_later_run_names_the_range_it_changed(tmp_path, db_url, small_chunks):
    s = resolved(
        tmp_path,
        db_url,
        "ALTER TABLE items ADD COLUMN note text;\n",
        "UPDATE items SET label = upper(label) WHERE id IN (10, 5000);\n"
        "ALTER TABLE items DROP COLUMN note;\n",
        preserve_line="items, pairs",
    )
    api.migrate(s)
    run(db_url, "INSERT INTO items VALUES (2001, 'inside a range, new')")  # not a loss
    with pytest.raises(ValidationFailed) as caught:
        api.rollback(s, phase="change")
    message = str(caught.value)
    assert "data preservation after rolling back change failed" in message
    assert "public.items: 2 preserved rows changed or removed in key (id) ranges 2..2000, " in (
        message
    )
    assert "4002..6000" in message
    assert "pairs" not in message


def test_a_composite_key_and_a_table_without_a_key(tmp_path, db_url, small_chunks):
    s = resolved(
        tmp_path,
        db_url,
        "UPDATE pairs SET v = -1 WHERE a = 42 AND b = 'k3';\nUPDATE notes SET body = 'x' "
        "WHERE body = 'n7';\n",
        preserve_line="pairs, notes",
    )
    with pytest.raises(ValidationFailed) as caught:
        api.migrate(s)
    message = str(caught.value)
    assert "public.pairs: 1 preserved row changed or removed in key (a, b) range " in message
    assert "(0, k0)..(99, k9)" in message  # 1000 rows: one range
    assert "public.notes: 1 preserved row changed or removed (no primary key" in message


def test_a_registry_5_snapshot_is_still_judged_after_the_upgrade(tmp_path, db_url):
    s = resolved(
        tmp_path,
        db_url,
        "ALTER TABLE items ADD COLUMN note text;\n",
        "UPDATE items SET label = 'gone' WHERE id = 8;\nALTER TABLE items DROP COLUMN note;\n",
        preserve_line="items",
    )
    api.migrate(s)
    # turn the stored snapshot and the registry back into what dbkit of registry 5 wrote
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE dbkit.phase_snapshots SET tables = jsonb_set(tables, '{public.items}', "
            "(tables -> 'public.items') - 'key' - 'key_types' - 'seen') WHERE phase = 'change'"
        )
        conn.execute(
            "INSERT INTO dbkit.preserved_rows (snapshot_id, relation, row_hash) "
            "SELECT s.id, 'public.items', md5(ROW(i.id, i.label)::text) "
            "FROM dbkit.phase_snapshots AS s, items AS i WHERE s.phase = 'change'"
        )
        conn.execute("DROP TABLE dbkit.preserved_chunks")
        conn.execute("DELETE FROM dbkit.registry WHERE version = 6")
    with pytest.raises(ValidationFailed) as caught:
        api.rollback(s, phase="change")  # upgrades the registry first, then judges
    assert "public.items: 1 preserved row changed or removed" in str(caught.value)
    assert run(db_url, "SELECT max(version) FROM dbkit.registry") == [(6,)]


STAMPS = Spec(
    "stamps",
    "core",
    "CREATE TABLE stamps (at timestamptz PRIMARY KEY, d date NOT NULL, span interval, "
    "f float8, b bytea);\n"
    "INSERT INTO stamps SELECT timestamptz '2026-01-01 00:00:00+00' + g * interval '7 hours', "
    "date '2026-01-01' + g, g * interval '90 minutes', g / 3.0, int4send(g) "
    "FROM generate_series(1, 2500) AS g;\nANALYZE stamps;\n",
    "DROP TABLE stamps;\n",
)


def test_a_rollback_in_a_session_with_other_output_settings_sees_no_false_change(
    tmp_path, db_url, small_chunks, monkeypatch
):
    # The phase can write stamps (so it is digested) but changes no row. The digest hashes each
    # row's text and keeps the key bounds as text: a later rollback under another time zone,
    # date style, interval style, float digits and bytea output must read them the same way.
    project = write_project(
        tmp_path / "p",
        [STAMPS, Spec("change", "change", "DELETE FROM stamps WHERE f < 0;\n", "SELECT 1;\n")],
    )
    phases = project / "validations" / "phases"
    phases.mkdir(parents=True, exist_ok=True)
    (phases / "change.pre.sql").write_text("-- preserve: stamps\n")
    s = settings.resolve(project, url=db_url, environ={})
    api.migrate(s, to="0001")
    monkeypatch.setenv("PGTZ", "UTC")
    monkeypatch.setenv("PGDATESTYLE", "ISO, MDY")
    api.migrate(s)
    stored = run(db_url, "SELECT tables FROM dbkit.phase_snapshots WHERE phase = 'change'")[0][0]
    assert stored["public.stamps"]["output"]["TimeZone"] == "UTC"
    assert len(run(db_url, "SELECT 1 FROM dbkit.preserved_chunks")) == 3  # 2500 rows, 1000 each
    monkeypatch.setenv("PGTZ", "Pacific/Chatham")
    monkeypatch.setenv("PGDATESTYLE", "SQL, DMY")
    monkeypatch.setenv(
        "PGOPTIONS", "-c IntervalStyle=iso_8601 -c extra_float_digits=0 -c bytea_output=escape"
    )
    with psycopg.connect(db_url) as conn:  # the settings do change the rows' text
        assert conn.execute("SELECT at::text FROM stamps ORDER BY at LIMIT 1").fetchone() == (
            "01/01/2026 20:45:00 +1345",
        )
    api.rollback(s, phase="change")  # judged against the stored digest: no change, no failure
    with psycopg.connect(db_url) as conn:  # and the session's own settings were put back
        assert conn.execute("SELECT current_setting('TimeZone')").fetchone() == ("Pacific/Chatham",)
    api.migrate(s)
    run(db_url, "UPDATE stamps SET f = f + 1 WHERE at = timestamptz '2026-01-01 07:00:00+00'")
    with pytest.raises(ValidationFailed, match="1 preserved row changed or removed"):
        api.rollback(s, phase="change")  # a real change is still caught under those settings


def test_output_settings_are_put_back_and_a_failure_inside_is_not_masked(db_url):
    wanted = (("TimeZone", "Pacific/Chatham"), ("DateStyle", "SQL, DMY"))
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        with preserve._output_as(conn, wanted):
            assert conn.execute("SELECT current_setting('TimeZone')").fetchone() == (
                "Pacific/Chatham",
            )
        assert conn.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
    with psycopg.connect(db_url) as conn:  # in a transaction that fails inside the block
        conn.execute("SET TimeZone = 'UTC'")
        conn.commit()
        with pytest.raises(psycopg.errors.DivisionByZero), preserve._output_as(conn, wanted):
            conn.execute("SELECT 1 / 0")
        conn.rollback()  # undoes the settings with the transaction
        assert conn.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
