"""The test harness itself: every test gets its own empty database, and it goes away after."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from dbkit.engine.database import MIN_SERVER_MAJOR

pytestmark = pytest.mark.smoke


def _user_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    return [r[0] for r in rows]


def test_db_url_is_a_fresh_empty_database(db_url, pg_server):
    assert _user_tables(db_url) == []
    with psycopg.connect(db_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
    assert name != "postgres"
    assert name != pg_server.template


def test_a_test_database_is_dropped_even_with_an_open_connection(pg_server):
    # One test, not two in a row: under xdist's worksteal the second of a pair may run in
    # another worker first. make_db's teardown is pg_server.drop_database, run here directly.
    name = pg_server.create_database()
    url = pg_server.url(name)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE left_behind (id int)")
    held = psycopg.connect(url)  # still open when the database is dropped
    try:
        pg_server.drop_database(name)
        assert not pg_server.database_exists(name)
        assert held.closed or held.broken or _terminated(held)
    finally:
        held.close()
    again = pg_server.create_database()
    try:
        assert _user_tables(pg_server.url(again)) == []  # the table did not leak into the template
    finally:
        pg_server.drop_database(again)


def _terminated(conn: psycopg.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def test_make_db_gives_distinct_databases(make_db, pg_server):
    urls = [make_db() for _ in range(3)]
    names = set()
    for url in urls:
        with psycopg.connect(url) as conn:
            names.add(conn.execute("SELECT current_database()").fetchone()[0])
    assert len(names) == 3
    assert all(pg_server.database_exists(n) for n in names)


def test_pg_major_matches_server(pg_server, pg_major, db_url):
    with psycopg.connect(db_url) as conn:
        num = int(conn.execute("SHOW server_version_num").fetchone()[0])
    assert pg_major == num // 10000 == pg_server.major
    assert pg_major >= MIN_SERVER_MAJOR


def test_admin_url_reaches_maintenance_database(pg_server):
    with psycopg.connect(pg_server.admin_url) as conn:
        (is_super,) = conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert is_super is True


def test_psql_from_bindir_connects(pg_server, db_url):
    if pg_server.bindir is None:
        pytest.skip("external server: no bin directory")
    out = subprocess.run(
        [str(pg_server.bindir / "psql"), db_url, "-XAtqc", "SELECT 40 + 2"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "42"
