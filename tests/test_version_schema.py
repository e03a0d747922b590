"""``alembic_version`` is always schema-qualified (issue 11): neither a role's search_path nor a
migration's ``SET search_path`` decides which table dbkit reads or writes; ``version_schema``
names it; an existing table is kept where it is."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from click.testing import CliRunner
from projects import Spec, write_project

from dbkit.cli import main

NOTES = Spec("notes", "core", "CREATE TABLE public.notes (id int);\n", "DROP TABLE public.notes;\n")
# A migration that points the session elsewhere for the rest of its transaction: the version
# move and the history row of that same transaction must still hit the right tables.
ELSEWHERE = Spec(
    "widgets",
    "core",
    "CREATE SCHEMA app;\nSET search_path TO app;\nCREATE TABLE widgets (id int);\n",
    "SET search_path TO app;\nDROP TABLE widgets;\nDROP SCHEMA app;\n",
)
# ... and a decoy table of the same name on the way, holding another revision
DECOY = Spec(
    "decoy",
    "core",
    "CREATE SCHEMA IF NOT EXISTS other;\nSET search_path TO other, public;\n"
    "CREATE TABLE other.alembic_version (version_num varchar(32) PRIMARY KEY);\n"
    "INSERT INTO other.alembic_version VALUES ('9999');\n",
    "DROP TABLE other.alembic_version;\n",
)


def run(project, url, *args):
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    return CliRunner().invoke(
        main, ["--project", str(project), "--url", url, *args], env=env, catch_exceptions=False
    )


def with_search_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), ("options", f"-csearch_path={path}")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def query(url, sql):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def versions(url):
    """Every alembic_version table of the database and what it holds."""
    found = {}
    for (schema,) in query(
        url,
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'alembic_version' AND c.relkind = 'r'",
    ):
        found[schema] = [
            r[0] for r in query(url, f"SELECT version_num FROM {schema}.alembic_version")
        ]
    return found


def status(project, url):
    result = run(project, url, "status", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_role_search_path_and_migrations_setting_it_do_not_move_the_version_table(tmp_path, db_url):
    # The role's search_path (ALTER ROLE ... IN DATABASE) puts an existing, empty schema first:
    # an unqualified CREATE TABLE alembic_version would land there.
    dbname = query(db_url, "SELECT current_database()")[0][0]
    query(db_url, "CREATE SCHEMA other")
    query(db_url, f'ALTER ROLE CURRENT_USER IN DATABASE "{dbname}" SET search_path = other, public')
    assert query(db_url, "SELECT current_schema()") == [("other",)]
    project = write_project(tmp_path / "p", [NOTES, ELSEWHERE, DECOY])

    migrated = run(project, db_url, "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert versions(db_url) == {"public": ["0003"], "other": ["9999"]}
    assert query(db_url, "SELECT to_regclass('app.widgets') IS NOT NULL") == [(True,)]

    # status, info and drift read the same table, whatever search_path the session has
    plain = with_search_path(db_url, "public")
    for url in (db_url, plain, with_search_path(db_url, "app")):
        found = status(project, url)
        assert (found["current_revision"], found["up_to_date"]) == ("0003", True), url
    info = run(project, db_url, "info", "--json")
    assert info.exit_code == 0, info.output
    assert [m["state"] for m in json.loads(info.output)["migrations"]] == ["applied"] * 3
    drift = run(project, db_url, "drift")
    assert drift.exit_code == 0, drift.output

    rolled = run(project, db_url, "rollback", "--to", "0001")
    assert rolled.exit_code == 0, rolled.output
    assert versions(db_url) == {"public": ["0001"]}  # the decoy went with 0003's rollback
    assert status(project, plain)["current_revision"] == "0001"
    again = run(project, with_search_path(db_url, "app,public"), "migrate")
    assert again.exit_code == 0, again.output
    assert versions(db_url) == {"public": ["0003"], "other": ["9999"]}
    history = query(db_url, "SELECT count(*) FROM dbkit.history WHERE outcome = 'success'")
    assert history == [(3 + 2 + 2,)]


def test_an_existing_table_is_kept_in_its_schema(tmp_path, db_url):
    """A database whose alembic_version an older dbkit (or Alembic) created through its
    search_path elsewhere than public keeps it there."""
    project = write_project(tmp_path / "p", [NOTES, ELSEWHERE])
    (project / "dbkit.toml").write_text('version_schema = "legacy"\n')
    assert run(project, db_url, "migrate", "--to", "0001").exit_code == 0
    (project / "dbkit.toml").write_text("")
    assert versions(db_url) == {"legacy": ["0001"]}

    legacy = with_search_path(db_url, "legacy,public")
    assert status(project, legacy)["current_revision"] == "0001"
    migrated = run(project, legacy, "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert versions(db_url) == {"legacy": ["0002"]}
    # the offline script names the setting's schema, else public
    script = run(project, db_url, "sql", "--from", "0001")
    assert "UPDATE public.alembic_version SET version_num = '0002'" in script.output


def test_version_schema_setting(tmp_path, db_url):
    project = write_project(tmp_path / "p", [NOTES])
    (project / "dbkit.toml").write_text('version_schema = "meta"\n')
    script = run(project, db_url, "sql")
    assert "CREATE SCHEMA IF NOT EXISTS meta;" in script.output
    assert "INSERT INTO meta.alembic_version (version_num) VALUES ('0001');" in script.output
    assert run(project, db_url, "migrate").exit_code == 0
    assert versions(db_url) == {"meta": ["0001"]}
    assert status(project, with_search_path(db_url, "public"))["current_revision"] == "0001"


def test_a_bad_version_schema_is_refused_before_connecting(tmp_path, db_url):
    project = write_project(tmp_path / "p", [NOTES])
    (project / "dbkit.toml").write_text('version_schema = "Bad-Name"\n')
    result = run(project, db_url, "migrate")
    assert result.exit_code == 2, result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("dbkit: error:")]
    assert "version_schema = 'Bad-Name' is not a usable schema name" in line
    assert versions(db_url) == {}
    assert query(db_url, "SELECT to_regnamespace('dbkit')") == [(None,)]


def test_no_schema_to_hold_it_is_one_line(tmp_path, db_url):
    query(db_url, "DROP SCHEMA public CASCADE")
    project = write_project(tmp_path / "p", [Spec("t", "core", "SELECT 1;\n", "SELECT 1;\n")])
    result = run(project, with_search_path(db_url, "nowhere"), "migrate")
    assert result.exit_code == 1, result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("dbkit: error:")]
    assert "cannot tell which schema should hold alembic_version" in line
    assert "version_schema" in result.output
    assert query(db_url, "SELECT to_regnamespace('dbkit')") == [(None,)]
