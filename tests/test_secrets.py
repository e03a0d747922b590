"""Passwords never reach any output, and masking them never garbles a message.

The masking itself is tested on strings; then the real ``dbkit`` command runs against a real
server with a password-protected (scram-sha-256) role, and every output path (text, ``--json``,
``--traceback``, the history rows, files under ``.dbkit/``) is scanned for the password.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import psycopg
import pytest
from projects import BASIC, Spec, write_project
from psycopg import sql

from dbkit.secrets import mask_url, password_of, scrub

DBKIT = str(Path(sys.executable).with_name("dbkit"))
ROLE = "dbkit_secret_role"

# -- masking, on strings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, masked",
    [
        ("postgresql://bob:s3cret@db:5432/app", "postgresql://bob:***@db:5432/app"),
        ("postgresql://app:a@127.0.0.1:55480/app", "postgresql://app:***@127.0.0.1:55480/app"),
        ("postgresql://bob@db/app", "postgresql://bob@db/app"),
        ("postgresql://bob:p%40ss%3Aw@db/app", "postgresql://bob:***@db/app"),
        ("postgresql://bob:pa:ss@db/app", "postgresql://bob:***@db/app"),
        ("postgres://weird:p@ss:w/rd?x@host/db", "postgres://***@host/db"),
        ("postgresql://u:pa#ss@host/db", "postgresql://***@host/db"),
        ("postgresql://u:pa/ss@host/db", "postgresql://***@host/db"),
        ("postgresql://u:pa?ss@host/db", "postgresql://***@host/db"),
        ("postgresql://u:se cret@host/db", "postgresql://u:***@host/db"),
        (
            "postgresql://db/app?password=s3cret&sslmode=require",
            "postgresql://db/app?password=***&sslmode=require",
        ),
        ("host=db password=s3cret dbname=app", "host=db password=*** dbname=app"),
        ("host=db password='s3 cr\\'et' dbname=app", "host=db password=*** dbname=app"),
        ("host=db PASSWORD = a dbname=app", "host=db PASSWORD = *** dbname=app"),
    ],
)
def test_the_password_field_is_masked(url, masked):
    assert mask_url(url) == masked


def test_password_of_decodes_what_libpq_would_use():
    assert password_of("postgresql://u:p%40ss@h/d") == "p@ss"
    assert password_of("host=h password='a b\\'c'") == "a b'c"
    assert password_of("postgresql://u@h/d") is None


@pytest.mark.parametrize("secret", ["a", "e", "o", "p", "i"])
def test_a_one_letter_password_does_not_garble_the_message(secret):
    url = f"postgresql://app:{secret}@127.0.0.1:55480/app"
    message = (
        'connection failed: password authentication failed for user "app" '
        f"(tried {url} and host=h password={secret} port=5)"
    )
    assert scrub(message, url) == (
        'connection failed: password authentication failed for user "app" '
        "(tried postgresql://app:***@127.0.0.1:55480/app and host=h password=*** port=5)"
    )


def test_libpq_complaints_about_the_user_info_hide_its_fragments():
    url = "postgresql://u:se cret@127.0.0.1:1/db"
    assert scrub('unexpected spaces found in "se cret", use %20', url) == (
        'unexpected spaces found in "***", use %20'
    )
    weird = "postgres://weird:p@ss:w/rd?x@127.0.0.1/db"
    assert "ss:w" not in scrub("invalid port number: \"ss:w\" in 'weird'", weird)
    # a quoted value that is not part of the secret stays
    assert scrub('invalid sslmode value: "bogus"', "postgresql://u:pw@h/d?sslmode=bogus") == (
        'invalid sslmode value: "bogus"'
    )


# -- through the real CLI, against a password-protected role -----------------------------------


@pytest.fixture(scope="module")
def scram(pg_server):
    """A login role that must authenticate with scram-sha-256 over the server's socket."""
    if pg_server.kind == "external":
        pytest.skip("needs a server whose pg_hba.conf the suite may edit")
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
        if not os.access(hba, os.W_OK):
            pytest.skip(f"{hba} is not writable")
        original = hba.read_text()
        hba.write_text(f"local all {ROLE} scram-sha-256\n" + original)
        conn.execute("SELECT pg_reload_conf()")
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(ROLE)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(ROLE)))
    try:
        yield pg_server
    finally:
        hba.write_text(original)
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")


def _owned_database(server, make_db, password: str) -> tuple[str, str]:
    """A fresh database owned by the scram role (whose password becomes ``password``);
    returns the database name and the server's socket query string."""
    admin = make_db()
    name = urlsplit(admin).path.lstrip("/")
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(password))
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(name), sql.Identifier(ROLE)
            )
        )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(ROLE)))
    query = dict(parse_qsl(urlsplit(admin).query))
    return name, query


def _url(name: str, query: dict, password: str | None) -> str:
    auth = ROLE if password is None else f"{ROLE}:{quote(password, safe='')}"
    return f"postgresql://{auth}@/{name}?host={quote(query['host'], safe='/')}&port={query['port']}"


def _conninfo(name: str, query: dict, password: str) -> str:
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    return (
        f"host={query['host']} port={query['port']} dbname={name} user={ROLE} password='{escaped}'"
    )


def _run(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DBKIT_DATABASE_URL": "",
        "DATABASE_URL": "",
        "PGPASSWORD": "",
        "NO_COLOR": "1",
        **(env or {}),
    }
    environment.pop("PGPASSWORD") if not environment["PGPASSWORD"] else None
    return subprocess.run(
        [DBKIT, "--project", str(project), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def _forms(secret: str) -> list[str]:
    """How a password could show: as it is, percent-encoded, conninfo-escaped."""
    forms = {secret, quote(secret, safe=""), quote(secret), secret.replace("'", "\\'")}
    return [f for f in forms if f]


def _assert_absent(secret: str, texts: list[str]) -> None:
    for text in texts:
        for form in _forms(secret):
            assert form not in text, f"password form {form!r} leaked in:\n{text}"


FAILING = Spec("breaks", "perf", "SELECT 1/0;\n", "SELECT 1;\n")

LONG_SECRETS = [
    "p@ss:w/rd?x#y% z",  # every URL delimiter, a percent sign and a space
    "s3cr%3Ft-%40-encoded",  # looks percent-encoded already
    "Quote'd back\\slash",
]


@pytest.mark.parametrize(
    "form, secret, every_command",
    [
        ("url", LONG_SECRETS[0], True),
        ("url", LONG_SECRETS[1], False),
        ("conninfo", LONG_SECRETS[2], True),
        ("pgpassword", LONG_SECRETS[0], False),
    ],
    ids=["url-delimiters", "url-percent", "conninfo-quotes", "pgpassword"],
)
def test_no_output_path_shows_the_password(scram, make_db, tmp_path, form, secret, every_command):
    project = write_project(tmp_path / "proj", [*BASIC, FAILING])
    name, query = _owned_database(scram, make_db, secret)
    if form == "url":
        good, bad, env = _url(name, query, secret), _url(name, query, secret + "X"), {}
    elif form == "conninfo":
        good, bad, env = _conninfo(name, query, secret), _conninfo(name, query, secret + "X"), {}
    else:
        good = bad = _url(name, query, None)
        env = {"PGPASSWORD": secret}
    outputs: list[str] = []

    def run(*args: str, url: str, expect: int, environ: dict | None = None) -> str:
        result = _run(project, "--url", url, *args, env=environ if environ is not None else env)
        outputs.extend([result.stdout, result.stderr])
        assert result.returncode == expect, result.stdout + result.stderr
        return result.stdout + result.stderr

    run("migrate", "--to", "0003", url=good, expect=0)
    failed = run("migrate", url=good, expect=1)
    assert "division by zero" in failed
    run("status", "--json", url=good, expect=0)
    history = run("history", "--json", url=good, expect=0)
    assert "failed" in history
    if every_command:
        run("migrate", "--json", url=good, expect=1)
        run("status", url=good, expect=0)
        run("--traceback", "migrate", url=good, expect=1)
        run("verify", url=good, expect=3)  # 0004 fails on the scratch database too
    # a wrong password: the server's refusal, in text, JSON and with a traceback
    bad_env = {"PGPASSWORD": secret + "X"} if form == "pgpassword" else env
    refused = run("status", url=bad, expect=1, environ=bad_env)
    assert "password authentication failed" in refused
    if every_command:
        run("status", "--json", url=bad, expect=1, environ=bad_env)
    traced = subprocess.run(
        [DBKIT, "--project", str(project), "--url", bad, "--traceback", "status"],
        capture_output=True,
        text=True,
        env={**os.environ, "DBKIT_DATABASE_URL": "", "DATABASE_URL": "", **bad_env},
        timeout=60,
    )
    assert traced.returncode != 0
    outputs.extend([traced.stdout, traced.stderr])
    # what the database and the project keep
    with psycopg.connect(scram.url(name), autocommit=True) as conn:
        rows = conn.execute("SELECT h::text FROM dbkit.history h").fetchall()
    assert rows
    outputs.extend(row[0] for row in rows)
    state = project / ".dbkit"
    if state.is_dir():
        for path in state.rglob("*"):
            if path.is_file():
                with contextlib.suppress(OSError):
                    outputs.append(path.read_text(errors="replace"))
    _assert_absent(secret + "X", outputs)
    _assert_absent(secret, outputs)


@pytest.mark.parametrize("secret", ["a", "e", "o", "p"])
def test_one_letter_passwords_through_the_cli(scram, make_db, tmp_path, secret):
    project = write_project(tmp_path / "proj", BASIC)
    name, query = _owned_database(scram, make_db, secret)
    good = f"postgresql://{ROLE}:{secret}@/{name}?host={quote(query['host'], safe='/')}" + (
        f"&port={query['port']}"
    )
    seen = _run(project, "--url", good, "status")
    assert seen.returncode == 0, seen.stderr
    assert f"{ROLE}:***@" in seen.stdout and "***" not in seen.stdout.replace(f"{ROLE}:***@", "")
    wrong = good.replace(f":{secret}@", ":z@")
    refused = _run(project, "--url", wrong, "status")
    assert refused.returncode == 1
    line = refused.stderr.strip()
    assert line.startswith("dbkit: error: cannot connect to postgresql://")
    assert f"{ROLE}:***@" in line
    assert f'password authentication failed for user "{ROLE}"' in line
    assert "***" not in line.replace(f"{ROLE}:***@", "")  # nothing else was masked
    if secret == "a":
        as_json = _run(project, "--url", wrong, "status", "--json")
        error = json.dumps(json.loads(as_json.stdout)["error"])
        assert "password authentication failed for user" in error and ROLE in error
        assert f"{ROLE}:***@" in error


def test_an_unparsable_url_is_masked_up_to_its_last_at(tmp_path):
    project = write_project(tmp_path / "proj", BASIC)
    result = _run(project, "--url", "postgres://weird:p@ss:w/rd?x@127.0.0.1:1/db", "status")
    assert result.returncode == 1
    assert result.stderr.startswith("dbkit: error: ")
    for fragment in ("p@ss", "ss:w", "w/rd", "rd?x", "weird:"):
        assert fragment not in result.stderr + result.stdout
