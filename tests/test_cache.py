"""The cache of parsed check files (``.dbkit/cache/``): a run that changed nothing parses nothing
and imports no SQL parser; a changed file is parsed again; a changed salt, a corrupt or an
unwritable cache changes no result."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest
from click.testing import CliRunner
from projects import BASIC, write_project

from dbkit import api
from dbkit.cli.app import main
from dbkit.errors import PlanError
from dbkit.plan import cache as cache_module
from dbkit.plan.cache import ResultCache
from dbkit.settings import resolve

CHECK = "-- check: emails_are_lowercase\nSELECT id FROM accounts WHERE email <> lower(email);\n"


@pytest.fixture
def project(tmp_path):
    root = write_project(tmp_path / "proj", BASIC)
    (root / "validations" / "0001_accounts.post.sql").write_text(CHECK)
    (root / "validations" / "phases").mkdir()
    (root / "validations" / "phases" / "core.pre.sql").write_text(
        "-- check: no_accounts_table_yet_or_empty\nSELECT 1 WHERE false;\n"
    )
    return root


def run_in_subprocess(project, db_url, *args):
    """``dbkit migrate`` in a fresh interpreter; returns (exit code, output, pglast imported)."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from dbkit.cli.app import main\n"
        f"r = CliRunner().invoke(main, ['--project', {str(project)!r}, '--url', {db_url!r}, "
        f"*{list(args)!r}])\n"
        "print(r.exit_code)\n"
        "print('pglast' in sys.modules)\n"
        "print(r.output)\n"
    )
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    exit_code, imported, output = done.stdout.split("\n", 2)
    return int(exit_code), output, imported == "True"


def test_a_run_that_changed_nothing_imports_no_sql_parser(project, db_url):
    api.migrate(resolve(project, url=db_url, environ={}))
    assert (project / ".dbkit" / "cache" / "checks.json").is_file()
    code, output, imported = run_in_subprocess(project, db_url, "migrate")
    assert code == 0 and "nothing to do: the database is at 0003" in output
    assert imported is False
    code, output, imported = run_in_subprocess(project, db_url, "status")
    assert code == 0 and imported is False
    # without the cache the same run parses the check files, with pglast
    (project / ".dbkit" / "cache" / "checks.json").unlink()
    code, output, imported = run_in_subprocess(project, db_url, "migrate")
    assert code == 0 and imported is True


def history_rows(db_url):
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT count(*) FROM dbkit.history").fetchone()[0]


def test_a_changed_check_file_is_parsed_again(project, db_url):
    s = resolve(project, url=db_url, environ={})
    api.migrate(s, to="0001")
    rows = history_rows(db_url)
    post = project / "validations" / "0001_accounts.post.sql"
    post.write_text("-- check: emails_are_lowercase\nDELETE FROM accounts;\n")
    for _ in range(2):  # parsed, then the same error from the cache
        result = CliRunner().invoke(
            main, ["--project", str(project), "--url", db_url, "migrate"], env={"NO_COLOR": "1"}
        )
        assert result.exit_code != 0
        assert result.output.strip().splitlines()[-1] == (
            f"dbkit: error: {post}:1: check 'emails_are_lowercase' must be a SELECT (or WITH "
            "... SELECT) returning the offending rows, not a DELETE statement"
        )
        assert history_rows(db_url) == rows  # nothing ran
    post.write_text(CHECK.replace("lower(email)", "lower(email) AND id > 0"))
    result = api.migrate(s)
    assert [c.name for c in result.checks if c.name == "emails_are_lowercase"] == []
    assert history_rows(db_url) == rows + 2
    stored = json.loads((project / ".dbkit" / "cache" / "checks.json").read_text())
    entries = [e for e in stored["entries"].values() if isinstance(e, dict)]  # not verdicts
    queries = [e["checks"][0][2] for e in entries if e.get("checks")]
    assert "SELECT id FROM accounts WHERE email <> lower(email) AND id > 0" in queries


def test_the_salt_the_content_and_a_broken_cache(tmp_path, monkeypatch):
    first = ResultCache(tmp_path, "t", "salt 1")
    assert first.get_or_compute("k", lambda: {"v": 1}) == {"v": 1}
    first.save()
    assert ResultCache(tmp_path, "t", "salt 1").get("k") == {"v": 1}
    assert ResultCache(tmp_path, "t", "salt 2").get("k") is None  # another tool or dbkit
    path = tmp_path / ".dbkit" / "cache" / "t.json"
    path.write_text("{not json")
    assert ResultCache(tmp_path, "t", "salt 1").get("k") is None
    # entries not used by a run are dropped past MAX_ENTRIES; used ones always kept
    monkeypatch.setattr(cache_module, "MAX_ENTRIES", 3)
    many = ResultCache(tmp_path, "t", "s")
    for i in range(5):
        many.put(f"k{i}", i)
    many.save()
    again = ResultCache(tmp_path, "t", "s")
    again.put("new", 1)
    again.save()
    kept = json.loads(path.read_text())["entries"]
    assert "new" in kept and len(kept) == 3


def test_an_unwritable_cache_changes_nothing(tmp_path):
    (tmp_path / ".dbkit").write_text("a file where the directory would go")
    cache = ResultCache(tmp_path, "t", "s")
    cache.put("k", 1)
    cache.save()  # no error
    assert ResultCache(tmp_path, "t", "s").get("k") is None


def test_code_stamp_changes_with_the_code(tmp_path):
    stamp = cache_module.code_stamp("dbkit.plan.checks")
    assert "dbkit.plan.checks " in stamp and stamp == cache_module.code_stamp("dbkit.plan.checks")
    assert cache_module.code_stamp("dbkit.plan.sqltext") != stamp
    assert cache_module.package_stamp("pglast").startswith("pglast ")
    assert cache_module.package_stamp("no_such_package_here") == "no_such_package_here missing"


def test_revision_files_are_read_from_the_cache_until_they_change(tmp_path):
    from dbkit.plan.graph import load_plan

    root = write_project(tmp_path / "proj", BASIC)
    first = load_plan(root)
    stored = json.loads((root / ".dbkit" / "cache" / "revisions.json").read_text())
    assert len(stored["entries"]) == 3
    again = load_plan(root)
    assert [(m.revision, m.down_revision, m.phase, m.transactional) for m in again] == [
        (m.revision, m.down_revision, m.phase, m.transactional) for m in first
    ]
    assert again.get("0003").transactional is False
    path = root / "migrations" / "versions" / "0002_orders.py"
    path.write_text(path.read_text().replace('phase = "core"', 'phase = "billing"'))
    assert load_plan(root).get("0002").phase == "billing"  # a changed file is read again
    path.write_text(path.read_text().replace('phase = "billing"', "phase = PHASE"))
    with pytest.raises(PlanError, match="phase"):
        load_plan(root)
    with pytest.raises(PlanError, match="phase"):
        load_plan(root)  # the same refusal, from the cache


def test_migrating_files_seen_before_needs_no_sql_parser(tmp_path, make_db):
    """The row-removal classification of a migration is cached by its SQL: migrating the same
    project into another database (CI, a second environment) parses nothing."""
    from projects import Spec

    root = write_project(
        tmp_path / "proj",
        [
            Spec(
                "t",
                "core",
                "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n",
                "DROP TABLE t;",
            ),
            Spec(
                "u",
                "more",
                "UPDATE t SET id = 2;\nALTER TABLE t ADD c int;\n",
                "ALTER TABLE t DROP c;",
            ),
        ],
    )
    api.migrate(resolve(root, url=make_db(), environ={}))
    second = make_db()
    code, output, imported = run_in_subprocess(root, second, "migrate")
    assert code == 0 and "database now at 0002" in output, output
    assert imported is False
    (root / ".dbkit" / "cache" / "checks.json").unlink()
    code, output, imported = run_in_subprocess(root, make_db(), "migrate")
    assert code == 0 and imported is True


def test_a_non_transactional_migration_seen_before_runs_without_the_sql_parser(tmp_path, make_db):
    """Its statements (and which one builds an index concurrently) come from the cache, so the
    run still checks the index it built and imports no SQL parser."""
    root = write_project(tmp_path / "proj", BASIC)
    api.migrate(resolve(root, url=make_db(), environ={}))
    stored = json.loads((root / ".dbkit" / "cache" / "checks.json").read_text())
    facts = [v for v in stored["entries"].values() if isinstance(v, list) and v]
    assert [None, "ix_orders_account"] in [f[3] for fact in facts for f in fact if len(f) == 5]
    second = make_db()
    code, output, imported = run_in_subprocess(root, second, "migrate")
    assert code == 0 and "database now at 0003" in output, output
    assert imported is False
    with psycopg.connect(second) as conn:
        assert conn.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = 'ix_orders_account'"
        ).fetchall() == [(True,)]
    # and back down: the rollback's statements are parsed once, then cached too
    code, output, imported = run_in_subprocess(root, second, "rollback", "--to", "0002")
    assert code == 0 and imported is True, output
    code, output, imported = run_in_subprocess(root, second, "migrate")
    assert code == 0 and imported is False
    code, output, imported = run_in_subprocess(root, second, "rollback", "--to", "0002")
    assert code == 0 and imported is False, output
    with psycopg.connect(second) as conn:
        assert conn.execute("SELECT to_regclass('ix_orders_account')").fetchone() == (None,)


def test_a_pending_migration_edited_after_a_cached_run_is_judged_again(project, db_url):
    """The statement rules' verdicts are cached by file content: COMMIT written into a pending
    migration after a run that filled the cache is still refused before connecting."""
    s = resolve(project, url=db_url, environ={})
    api.migrate(s, to="0001")
    assert (project / ".dbkit" / "cache" / "checks.json").is_file()
    rows = history_rows(db_url)
    (up,) = (project / "sql").glob("0002_*.sql")
    up.write_text(up.read_text() + "\nCOMMIT;\n")
    result = CliRunner().invoke(
        main, ["--project", str(project), "--url", db_url, "migrate"], env={"NO_COLOR": "1"}
    )
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"dbkit: error: sql/{up.name}:") and "COMMIT" in last
    assert history_rows(db_url) == rows  # refused before anything ran


def test_a_rollback_level_file_added_after_a_cached_run_is_judged(project, db_url):
    """The level files (rollbacks/NAME.data.sql) are part of a migration's cached verdict: one
    written after a run that filled the cache is still read, and its COMMIT refused."""
    s = resolve(project, url=db_url, environ={})
    api.migrate(s, to="0001")
    (down,) = (project / "rollbacks").glob("0002_*.sql")
    level = down.with_name(down.name.replace(".sql", ".data.sql"))
    level.write_text("DELETE FROM accounts;\nCOMMIT;\n")
    rows = history_rows(db_url)
    result = CliRunner().invoke(
        main, ["--project", str(project), "--url", db_url, "migrate"], env={"NO_COLOR": "1"}
    )
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"dbkit: error: rollbacks/{level.name}:") and "COMMIT" in last, last
    assert history_rows(db_url) == rows


def _index_entries(root):
    return json.loads((root / ".dbkit" / "cache" / "files.json").read_text())["files"]


def test_an_unchanged_plan_is_read_from_the_file_index(tmp_path, monkeypatch):
    """Files whose size, times and inode are those the index recorded are not read again: the
    plan, its checksums and the statement rules' verdicts come from the caches."""
    from dbkit.plan import graph, sqlrules

    monkeypatch.setattr(cache_module, "RACY_NS", 0)  # trust files written a moment ago
    root = write_project(tmp_path / "proj", BASIC)
    first = graph.load_plan(root)
    sums = [m.checksum for m in first]
    assert sums == [m._checksum() for m in first]  # the SQL pair's own checksum
    assert len(_index_entries(root)) == 9  # 3 revision files, 3 SQL files, 3 rollbacks
    verdicts = cache_module.ResultCache(root, "t", "s")
    sqlrules.refuse(first.migrations, verdicts)
    verdicts.save()

    def no_reading(path):
        raise AssertionError(f"read {path}")

    monkeypatch.setattr(graph, "_read_text", no_reading)
    again = graph.load_plan(root)
    assert [m.checksum for m in again] == sums
    assert again.migrations[0].files.reads == 0
    assert [(m.revision, m.phase, m.transactional) for m in again] == [
        (m.revision, m.phase, m.transactional) for m in first
    ]
    cache = cache_module.ResultCache(root, "t", "s")
    assert sqlrules.refuse(again.migrations, cache) == [] and cache.misses == 0


def test_a_file_changed_with_its_size_and_mtime_put_back_is_read_again(tmp_path, monkeypatch):
    """The status-change time and the inode tell an edit that kept the size and set the
    modification time back (an editor, a checkout, ``touch -r``)."""
    import time

    from dbkit.plan.graph import load_plan

    monkeypatch.setattr(cache_module, "RACY_NS", 0)
    root = write_project(tmp_path / "proj", BASIC)
    before = load_plan(root).get("0002").checksum
    sql = root / "sql" / "0002_orders.sql"
    stat = sql.stat()
    text = sql.read_text()
    time.sleep(0.05)  # past the file system clock's tick
    edited = text.replace("orders", "ordres", 1)
    assert len(edited) == len(text) and edited != text
    sql.write_text(edited)
    os.utime(sql, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (sql.stat().st_size, sql.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    after = load_plan(root).get("0002")
    assert after.checksum != before and after.checksum == after._checksum()
    assert after.files.reads == 1  # that file only
    # replaced by another file (new inode) with the same size and times: read again too
    sql.with_suffix(".new").write_text(text)
    os.utime(sql.with_suffix(".new"), ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(sql.with_suffix(".new"), sql)
    assert load_plan(root).get("0002").checksum == before


def test_a_file_changed_just_now_is_not_recorded(tmp_path):
    """Within RACY_NS of a file's last change, a second write could keep its stamp: such a file
    is read on every run until it is older."""
    from dbkit.plan.graph import load_plan

    root = write_project(tmp_path / "proj", BASIC)
    plan = load_plan(root)
    assert plan.migrations[0].files.reads == 9
    assert _index_entries(root) == {}  # no file recorded (the checksums are, by digest)
    assert load_plan(root).migrations[0].files.reads == 9  # read again, nothing trusted
    old = 1_600_000_000_000_000_000
    for path in root.rglob("*"):
        if path.is_file() and ".dbkit" not in path.parts:
            os.utime(path, ns=(old, old))  # the status-change time is still now
    assert load_plan(root).migrations[0].files.reads == 9


def test_a_broken_or_unwritable_file_index_changes_nothing(tmp_path, monkeypatch):
    from dbkit.plan.graph import load_plan

    monkeypatch.setattr(cache_module, "RACY_NS", 0)
    root = write_project(tmp_path / "proj", BASIC)
    sums = [m.checksum for m in load_plan(root)]
    (root / ".dbkit" / "cache" / "files.json").write_text('{"format": 1, "files": [')
    plan = load_plan(root)
    assert [m.checksum for m in plan] == sums and plan.migrations[0].files.reads == 9
    wrong = {"format": 1, "files": {"sql/0001_accounts.sql": "not a stamp"}, "derived": {}}
    (root / ".dbkit" / "cache" / "files.json").write_text(json.dumps(wrong))
    assert [m.checksum for m in load_plan(root)] == sums
    read_only = write_project(tmp_path / "ro", BASIC)
    (read_only / ".dbkit").write_text("a file where the directory would go")
    assert [m.checksum for m in load_plan(read_only)] == sums
