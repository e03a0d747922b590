"""The workflow at size, small: a phase snapshot counts only the tables the phase can write.

A table the phase's SQL cannot write (directly, through a function it calls, a trigger of a
table it writes, or a cascading foreign key) is not scanned: the snapshot keeps the catalog's
estimate instead. A loss is still caught: through the functions it follows, and inside a
migration through the transaction's own tuple counters even where the analysis missed a path.
"""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from projects import Spec, write_project

from dbkit import api, settings
from dbkit.errors import ValidationFailed

BASE = Spec(
    "base",
    "base",
    """\
CREATE TABLE big (id bigint PRIMARY KEY, payload text);
CREATE TABLE small (id bigint PRIMARY KEY, name text);
CREATE TABLE audit (id bigserial PRIMARY KEY, note text);
CREATE TABLE big_child (id bigint PRIMARY KEY,
    big_id bigint REFERENCES big (id) ON DELETE CASCADE);
CREATE FUNCTION purge_big() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM big WHERE id % 2 = 0;
END;
$$;
CREATE FUNCTION purge_dynamic() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM %I WHERE id %% 2 = 0', 'b' || 'ig');
END;
$$;
""",
    "DROP FUNCTION purge_dynamic(); DROP FUNCTION purge_big();\n"
    "DROP TABLE big_child, audit, small, big;\n",
)


def change(sql: str) -> Spec:
    return Spec("change", "change", sql, "ALTER TABLE small DROP COLUMN IF EXISTS extra;\n")


def prepared(tmp_path, url, second: Spec):
    project = write_project(tmp_path / "p", [BASE, second])
    s = settings.resolve(project, url=url, environ={})
    api.migrate(s, to="0001")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO big SELECT g, 'x' FROM generate_series(1, 5000) AS g")
        conn.execute("INSERT INTO small SELECT g, 'n' FROM generate_series(1, 10) AS g")
        conn.execute("INSERT INTO audit (note) SELECT 'a' FROM generate_series(1, 50)")
        conn.execute("ANALYZE big; ANALYZE small; ANALYZE audit; ANALYZE big_child")
    return s


def seq_scans(url, table) -> int:
    time.sleep(0.6)  # the statistics of finished sessions reach the shared counters
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = %s", (table,)
        ).fetchone()[0]


def snapshot(url, phase):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT tables FROM dbkit.phase_snapshots WHERE phase = %s ORDER BY id DESC LIMIT 1",
            (phase,),
        ).fetchone()[0]


def test_a_table_the_phase_never_names_is_not_scanned(tmp_path, db_url):
    s = prepared(tmp_path, db_url, change("ALTER TABLE small ADD COLUMN extra text;\n"))
    before = seq_scans(db_url, "big")
    result = api.migrate(s)
    assert [step.revision for step in result.steps] == ["0002"]
    assert seq_scans(db_url, "big") == before  # dbkit never read the big table
    tables = snapshot(db_url, "change")
    assert tables["public.big"]["exact"] is False
    assert tables["public.big"]["rows"] == 5000  # ANALYZE's estimate, exact for a small table
    assert "exact" not in tables["public.small"]  # named by the phase: counted
    assert tables["public.small"]["rows"] == 10


def test_a_loss_through_a_called_function_is_counted_and_caught(tmp_path, db_url):
    s = prepared(tmp_path, db_url, change("SELECT purge_big();\n"))
    with pytest.raises(ValidationFailed, match="big"):
        api.migrate(s)
    tables = snapshot(db_url, "change")
    assert "exact" not in tables["public.big"]  # reached through purge_big(): counted exactly
    assert "exact" not in tables["public.big_child"]  # ON DELETE CASCADE from big
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM big").fetchone()[0] == 5000  # undone


def test_dynamic_sql_built_from_constants_is_followed_and_counted(tmp_path, db_url):
    # EXECUTE format(.., 'b' || 'ig'): the analysis evaluates the constant text
    s = prepared(tmp_path, db_url, change("SELECT purge_dynamic();\n"))
    with pytest.raises(ValidationFailed, match="public.big lost 2500 of 5000 rows"):
        api.migrate(s)
    assert "exact" not in snapshot(db_url, "change")["public.big"]


def test_a_write_the_analysis_missed_is_caught_by_the_transaction_counters(
    tmp_path, db_url, monkeypatch
):
    from dbkit.engine import preserve

    monkeypatch.setattr(preserve, "writable", lambda *args, **kwargs: set())  # a miss
    s = prepared(tmp_path, db_url, change("SELECT purge_dynamic();\n"))
    with pytest.raises(ValidationFailed) as caught:
        api.migrate(s)
    assert snapshot(db_url, "change")["public.big"]["exact"] is False
    sample = caught.value.results[0].sample[0]
    assert sample == {"table": "public.big", "deleted_in_migration": 2500, "lost": 2500}
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM big").fetchone()[0] == 5000


def test_snapshot_round_trips_through_json():
    from dbkit.engine.preserve import Snapshot, TableState

    snap = Snapshot("p", {"public.a": TableState(3, None, 7, exact=False)})
    again = Snapshot.from_json("p", json.loads(snap.to_json()))
    assert again.tables["public.a"] == TableState(3, None, 7, exact=False)


def test_a_check_past_its_budget_stops_the_run_naming_the_budget(tmp_path, db_url):
    project = write_project(
        tmp_path / "p", [BASE, change("ALTER TABLE small ADD COLUMN extra text;\n")]
    )
    (project / "dbkit.toml").write_text('check_timeout = "300ms"\n')
    (project / "validations" / "phases").mkdir(parents=True, exist_ok=True)
    (project / "validations" / "phases" / "change.post.sql").write_text(
        "-- check: slow_scan\nSELECT 1 AS x FROM pg_sleep(2) AS s WHERE random() < 0;\n"
    )
    s = settings.resolve(project, url=db_url, environ={})
    assert s.check_timeout == "300ms"
    t0 = time.perf_counter()
    with pytest.raises(ValidationFailed, match=r"slow_scan .* ran past check_timeout \(300ms\)"):
        api.migrate(s)
    assert time.perf_counter() - t0 < 30
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "0"


NAIVE = Spec(
    "naive",
    "change",
    """\
CREATE INDEX idx_big_payload ON big (payload);
ALTER TABLE big_child ADD CONSTRAINT fk_big_child_again FOREIGN KEY (big_id) REFERENCES big (id);
ALTER TABLE small ADD CONSTRAINT ck_small_id CHECK (id > 0);
ALTER TABLE small ADD COLUMN seen_at timestamptz DEFAULT clock_timestamp();
ALTER TABLE small ADD COLUMN flag boolean NOT NULL DEFAULT false;
""",
    """\
ALTER TABLE small DROP COLUMN flag;
ALTER TABLE small DROP COLUMN seen_at;
ALTER TABLE small DROP CONSTRAINT ck_small_id;
ALTER TABLE big_child DROP CONSTRAINT fk_big_child_again;
DROP INDEX idx_big_payload;
""",
)


def test_lint_names_each_naive_online_change(tmp_path):
    """The forms that stall writers on a big table: squawk's rules name each one (line by line);
    a constant default (flag ... DEFAULT false) is not one of them."""
    project = write_project(tmp_path / "p", [BASE, NAIVE])
    report = api.lint(project)
    found = {
        (f.line, f.rule)
        for f in report.findings
        if f.path.endswith("0002_naive.sql") and f.rule.startswith("squawk/")
    }
    assert (1, "squawk/require-concurrent-index-creation") in found
    assert (2, "squawk/adding-foreign-key-constraint") in found
    assert (2, "squawk/constraint-missing-not-valid") in found
    assert (3, "squawk/constraint-missing-not-valid") in found
    assert (4, "squawk/adding-field-with-default") in found
    assert (5, "squawk/adding-field-with-default") not in found
