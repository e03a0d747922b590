"""``dbkit fleet``: one plan over databases and tenant schemas on several real servers.

Servers: the session's embedded PostgreSQL (``pg_server``), the system's PostgreSQL 15 started
for this module (``pg15``), and, for the test that kills one, a third throwaway cluster. A
fake server that speaks just enough of the wire protocol to report PostgreSQL 13 stands in
for an unsupported major (no such binaries are installed here).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from conftest import _start_server, _system_bindir
from projects import ACCOUNTS, BASIC, ORDERS, Spec, write_project

from dbkit.cli import main
from dbkit.embedded import server as embedded

ROOT = Path(__file__).resolve().parent.parent
SLOW = Spec("slow", "core", "SELECT pg_sleep(1.5);\nCREATE TABLE slow_done (id int);\n",
            "DROP TABLE slow_done;\n")  # fmt: skip
SLOW_PROJECT = [ACCOUNTS, SLOW, ORDERS]


@pytest.fixture(scope="module")
def pg15():
    try:
        bindir = _system_bindir()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    server = _start_server("system", bindir)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def dbs(pg_server, pg15):
    """``dbs(server) -> url`` of a fresh database on that server, all dropped afterwards."""
    created = []

    def make(server):
        name = server.create_database()
        created.append((server, name))
        return server.url(name)

    yield make
    for server, name in created:
        server.drop_database(name)


def fleet_file(project: Path, targets: list[dict], extra: str = "") -> Path:
    out = []
    for target in targets:
        out.append("[[targets]]")
        for key, value in target.items():
            out.append(f"{key} = {json.dumps(value)}")
        out.append("")
    path = project / "fleet.toml"
    path.write_text("\n".join(out) + extra)
    return path


def fleet(project: Path, *args: str, env: dict | None = None):
    environment = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1", **(env or {})}
    return CliRunner().invoke(
        main, ["--project", str(project), "fleet", *args], env=environment, catch_exceptions=False
    )


def document(result) -> dict:
    return json.loads(result.stdout)


def by_name(doc: dict) -> dict:
    return {t["name"]: t for t in doc["targets"]}


def revision(url: str, schema: str | None = None) -> str | None:
    table = f"{schema}.alembic_version" if schema else "alembic_version"
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
            return None
        row = conn.execute(f"SELECT version_num FROM {table}").fetchone()
        return row[0] if row else None


def has_registry(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('dbkit.history'), to_regclass('alembic_version')")
        return any(found.fetchone())


@pytest.fixture
def project(tmp_path):
    return write_project(tmp_path / "proj", BASIC)


# -- the happy paths ------------------------------------------------------------------------


def test_migrate_databases_on_two_servers_and_tenant_schemas(project, dbs, pg_server, pg15):
    a1, a2, b1, tenants = dbs(pg_server), dbs(pg_server), dbs(pg15), dbs(pg15)
    fleet_file(
        project,
        [
            {"name": "a1", "url": a1, "groups": ["eu"]},
            {"name": "a2", "url": "${A2_URL}", "groups": ["eu"]},
            {"name": "b1", "url": b1, "groups": ["us"]},
            {"name": "acme", "url": tenants, "schema": "acme", "groups": ["us"]},
            {"name": "bravo", "url": tenants, "schema": "bravo"},
        ],
    )
    env = {"A2_URL": a2}
    result = fleet(project, "migrate", "--json", env=env)
    assert result.exit_code == 0, result.output
    doc = document(result)
    assert doc["exit_code"] == 0 and doc["goal"] == "0003"
    assert doc["summary"] == "5 at 0003"
    for target in doc["targets"]:
        assert (target["before"], target["after"], target["outcome"]) == (None, "0003", "migrated")
        assert target["error"] is None
    # every target really is at head, the tenants in their own schemas with their own history
    assert [revision(u) for u in (a1, a2, b1)] == ["0003"] * 3
    assert revision(tenants) is None  # nothing in the database's own search_path
    with psycopg.connect(tenants, autocommit=True) as conn:
        for schema in ("acme", "bravo"):
            assert revision(tenants, schema) == "0003"
            tables = conn.execute(
                "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
                "WHERE schemaname = %s",
                (schema,),
            ).fetchone()[0]
            assert tables == "accounts,alembic_version,orders"
            ups = conn.execute(
                f"SELECT count(*) FROM dbkit_{schema}.history WHERE direction = 'up'"
            ).fetchone()[0]
            assert ups == 3
        assert conn.execute("SELECT to_regclass('dbkit.history')").fetchone()[0] is None
        # the tenant's trigger function works inside its schema
        conn.execute("INSERT INTO acme.accounts (email) VALUES ('X@Y')")
        assert conn.execute("SELECT email FROM acme.accounts").fetchone()[0] == "x@y"

    # resumable and idempotent: a second run skips every target after one short connection
    again = fleet(project, "migrate", "--json", env=env)
    assert again.exit_code == 0, again.output
    second = document(again)
    assert {t["outcome"] for t in second["targets"]} == {"up to date"}
    assert max(t["duration_ms"] for t in second["targets"]) < 1000

    # a single-database command on a tenant's database is unaffected
    single = CliRunner().invoke(
        main, ["--project", str(project), "--url", tenants, "status", "--json"],
        env={"DBKIT_DATABASE_URL": "", "DATABASE_URL": ""},
    )  # fmt: skip
    assert json.loads(single.stdout)["current_revision"] is None

    # rollback of one group, then the status of the whole fleet
    back = fleet(project, "--group", "us", "rollback", "--to", "0001", "--json", env=env)
    assert back.exit_code == 0, back.output
    rolled = by_name(document(back))
    assert set(rolled) == {"b1", "acme"}
    assert rolled["acme"]["outcome"] == "rolled back" and rolled["acme"]["after"] == "0001"
    assert revision(tenants, "acme") == "0001" and revision(tenants, "bravo") == "0003"

    status = fleet(project, "status", env=env)
    assert status.exit_code == 0, status.output
    lines = status.output.strip().splitlines()
    assert lines[-1].startswith("fleet status: 5 targets in ")
    assert lines[-1].endswith("3 at 0003, 2 at 0001")
    acme = next(line for line in lines if line.startswith("acme "))
    assert "pending" in acme and "2 pending" in acme


def test_status_summary_edits_and_failures(project, dbs, pg_server):
    ok, behind, edited = dbs(pg_server), dbs(pg_server), dbs(pg_server)
    fleet_file(
        project,
        [
            {"name": "ok", "url": ok},
            {"name": "behind", "url": behind},
            {"name": "edited", "url": edited},
            {"name": "down", "url": "postgresql://app:secret-pw@/x?host=/nonexistent/socket"},
        ],
    )
    assert fleet(project, "-t", "ok", "-t", "edited", "migrate").exit_code == 0
    assert fleet(project, "-t", "behind", "migrate", "--to", "0001").exit_code == 0
    with psycopg.connect(edited, autocommit=True) as conn:  # applied from other files
        conn.execute("UPDATE dbkit.history SET checksum = 'abc' WHERE revision = '0002'")
    result = fleet(project, "status", "--json")
    assert result.exit_code == 1, result.output  # unreachable outranks edited (4)
    doc = document(result)
    assert doc["summary"] == "2 at 0003, 1 at 0001, 1 unreachable; 1 edited"
    targets = by_name(doc)
    assert targets["ok"]["pending"] == 0 and targets["ok"]["outcome"] == "up to date"
    assert targets["behind"]["pending"] == 2 and targets["behind"]["outcome"] == "pending"
    assert targets["edited"]["outcome"] == "edited" and targets["edited"]["exit_code"] == 4
    assert targets["edited"]["changed"] == ["0002_orders"]
    assert targets["down"]["outcome"] == "unreachable" and targets["down"]["exit_code"] == 1
    assert "secret-pw" not in result.output
    # without the unreachable target, the edit decides the exit code
    assert fleet(project, "-t", "ok", "-t", "edited", "status").exit_code == 4


def test_catalog_of_tenants_and_env_expansion(project, dbs, pg_server, pg15):
    catalog, tenants = dbs(pg15), dbs(pg_server)
    with psycopg.connect(catalog, autocommit=True) as conn:
        conn.execute("CREATE TABLE tenants (name text, schema text, tier text, active bool)")
        conn.execute(
            "INSERT INTO tenants VALUES ('t1', 't1', 'canary', true), "
            "('t2', 't2', 'std', true), ('t3', 't3', 'std', false)"
        )
    (project / "fleet.toml").write_text(
        '[[catalogs]]\nurl = "${CATALOG}"\ndefault_url = "${TENANTS}"\n'
        'query = "SELECT name, schema, tier AS groups FROM tenants WHERE active ORDER BY name"\n'
    )
    env = {"CATALOG": catalog, "TENANTS": tenants}
    result = fleet(project, "migrate", "--canary", "canary", "--json", env=env)
    assert result.exit_code == 0, result.output
    targets = by_name(document(result))
    assert set(targets) == {"t1", "t2"}
    assert targets["t1"]["groups"] == ["canary"]
    assert revision(tenants, "t1") == revision(tenants, "t2") == "0003"
    # the catalog's own database was only read
    assert not has_registry(catalog)


def test_validate_and_drift_over_the_fleet(project, dbs, pg_server, pg15):
    a, b, tenants = dbs(pg_server), dbs(pg15), dbs(pg_server)
    (project / "validations" / "0003_orders_index.post.sql").write_text(
        "-- check: no_negative_totals\nSELECT id FROM orders WHERE total < 0;\n"
    )
    fleet_file(
        project,
        [
            {"name": "a", "url": a},
            {"name": "b", "url": b},
            {"name": "acme", "url": tenants, "schema": "acme"},
        ],
    )
    assert fleet(project, "migrate").exit_code == 0
    passed = fleet(project, "validate", "--json")
    assert passed.exit_code == 0, passed.output
    assert {t["outcome"] for t in document(passed)["targets"]} == {"checks passed"}
    with psycopg.connect(b, autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (email) VALUES ('a@b')")
        conn.execute("INSERT INTO orders (account_id, total) VALUES (1, -5)")
    failed = fleet(project, "validate", "--json")
    assert failed.exit_code == 3
    assert by_name(document(failed))["b"]["outcome"] == "checks failed"
    assert "no_negative_totals" in by_name(document(failed))["b"]["error"]

    clean = fleet(project, "drift", "--json")
    assert clean.exit_code == 0, clean.output
    assert {t["outcome"] for t in document(clean)["targets"]} == {"no drift"}
    with psycopg.connect(tenants, autocommit=True) as conn:
        conn.execute("ALTER TABLE acme.orders ADD COLUMN hand_made int")
    drifted = fleet(project, "drift", "--json")
    assert drifted.exit_code == 4, drifted.output
    targets = by_name(document(drifted))
    assert targets["acme"]["outcome"] == "drift" and "1 extra" in targets["acme"]["error"]
    assert "hand_made" in json.dumps(targets["acme"]["result"]["extra"])
    assert targets["a"]["outcome"] == targets["b"]["outcome"] == "no drift"


# -- bad input: each target's own failure -----------------------------------------------------


class FakeOldServer:
    """Answers PostgreSQL's startup handshake as a PostgreSQL 13 server, then hangs up."""

    def __init__(self, directory: Path, port: int = 5432) -> None:
        self.path = directory / f".s.PGSQL.{port}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with client:
                length = struct.unpack("!I", client.recv(4))[0]
                client.recv(length - 4)
                out = struct.pack("!cII", b"R", 8, 0)  # AuthenticationOk
                for key, value in (
                    ("server_version", "13.16"),
                    ("server_encoding", "UTF8"),
                    ("client_encoding", "UTF8"),
                    ("integer_datetimes", "on"),
                    ("standard_conforming_strings", "on"),
                ):
                    body = key.encode() + b"\0" + value.encode() + b"\0"
                    out += b"S" + struct.pack("!I", len(body) + 4) + body
                out += struct.pack("!cIII", b"K", 12, 4242, 1234)
                out += struct.pack("!cIc", b"Z", 5, b"I")
                client.sendall(out)
                with_timeout(client)

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)


def with_timeout(client: socket.socket) -> None:
    client.settimeout(2)
    with contextlib.suppress(OSError):
        client.recv(64)  # the Terminate message when psycopg closes


def test_bad_targets_fail_alone(project, dbs, pg_server, pg15, tmp_path):
    good, ahead, dup = dbs(pg_server), dbs(pg_server), dbs(pg15)
    # wrong password: a role that must log in with a password on the system server
    with psycopg.connect(pg15.admin_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS fleet_pw")
        conn.execute("CREATE ROLE fleet_pw LOGIN PASSWORD 'right-one'")
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
    original = hba.read_text()
    hba.write_text("local all fleet_pw scram-sha-256\n" + original)
    with psycopg.connect(pg15.admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
    # history ahead of the files: the database says 0099
    with psycopg.connect(ahead, autocommit=True) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0099')")
    # the same database under two names: a symlinked socket directory
    socket_dir = Path(psycopg.conninfo.conninfo_to_dict(dup)["host"])
    alias = Path(tempfile.mkdtemp(prefix="dbkit-alias-")) / "sock"
    alias.symlink_to(socket_dir)
    fake_dir = Path(tempfile.mkdtemp(prefix="dbkit-fake-"))
    fake = FakeOldServer(fake_dir)
    wrong = pg15.url("postgres").replace("postgresql://postgres@", "postgresql://fleet_pw:nope@")
    try:
        fleet_file(
            project,
            [
                {"name": "good", "url": good},
                {"name": "down", "url": f"postgresql://x@/db?host={tmp_path}/no-server"},
                {"name": "password", "url": wrong},
                {"name": "old", "url": f"postgresql://x@/db?host={fake_dir}"},
                {"name": "ahead", "url": ahead},
                {"name": "dup1", "url": dup},
                {"name": "dup2", "url": dup.replace(str(socket_dir), str(alias))},
            ],
        )
        result = fleet(project, "migrate", "--jobs", "1", "--json")
    finally:
        fake.close()
        hba.write_text(original)
        with psycopg.connect(pg15.admin_url, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
    assert result.exit_code == 1, result.output
    targets = by_name(document(result))
    assert targets["good"]["outcome"] == "migrated" and targets["good"]["after"] == "0003"
    assert targets["dup1"]["outcome"] == "migrated"
    expected = {
        "down": ("unreachable", "cannot connect to"),
        "password": ("login failed", "password authentication failed"),
        "old": ("unsupported", "PostgreSQL 13 is not supported"),
        "ahead": ("unknown revision", "the database is at revision 0099, which is not in"),
        "dup2": ("duplicate", "names the same database as target dup1"),
    }
    for name, (outcome, text) in expected.items():
        target = targets[name]
        assert (target["outcome"], target["exit_code"]) == (outcome, 1), target
        assert text in target["error"] and "\n" not in target["error"], target
    assert "nope" not in result.output
    # one line per target on stderr, the JSON document alone on stdout
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 7
    assert revision(ahead) == "0099"


@pytest.mark.parametrize(
    "content, message",
    [
        ("[[targets]]\nname = 'a'\n", "a target needs a name and a url"),
        ("[[targets]]\nname = 'a'\nurl = 'mysql://x/y'\n", "unsupported database URL scheme"),
        ("[[targets]]\nname = 'a'\nurl = '${FLEET_NOT_SET}'\n", "FLEET_NOT_SET is not set"),
        ("[[targets]]\nname = 'a'\nurl = 'postgresql:///x'\nschema = 'Bad-Name'\n",
         "is not a usable schema name"),
        ("[[targets]]\nname = 'a'\nurl = 'postgresql:///x'\ncolour = 'red'\n",
         "unknown key colour"),
        ("[fleet]\njobs = 0\n[[targets]]\nname = 'a'\nurl = 'postgresql:///x'\n",
         "expected a whole number of 1 or more"),
        ("[[targets]]\nname = 'a'\nurl = 'postgresql:///x'\n[groups]\nc = ['zz']\n",
         "no target is named 'zz'"),
        ("[[targets]\n", "not valid TOML"),
        ("", "the fleet is empty"),
    ],
)  # fmt: skip
def test_malformed_fleet_file_is_refused_before_connecting(project, db_url, content, message):
    # a valid target comes first: it must not be touched
    good = f"[[targets]]\nname = 'good'\nurl = '{db_url}'\n"
    text = content if content.startswith("[fleet]") else good + content
    if content in ("", "[[targets]\n"):
        text = content
    (project / "fleet.toml").write_text(text)
    result = fleet(project, "migrate")
    assert result.exit_code == 2, result.output
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("dbkit: error: ")
    assert message in errors[0]
    assert not has_registry(db_url)


def test_two_targets_naming_the_same_database_in_the_file(project, db_url):
    fleet_file(
        project, [{"name": "a", "url": db_url}, {"name": "b", "url": db_url + "&connect_timeout=5"}]
    )
    result = fleet(project, "status")
    assert result.exit_code == 2
    assert "target b names the same database as a" in result.stderr
    fleet_file(project, [{"name": "a", "url": db_url}, {"name": "a", "url": db_url + "x"}])
    assert "target name 'a' is used twice" in fleet(project, "status").stderr


def test_unknown_group_and_revision_are_usage_errors(project, db_url):
    fleet_file(project, [{"name": "a", "url": db_url, "groups": ["eu"]}])
    assert "no group 'us'" in fleet(project, "--group", "us", "status").stderr
    assert fleet(project, "migrate", "--canary", "us").exit_code == 2
    bad = fleet(project, "migrate", "--to", "0042")
    assert bad.exit_code == 2 and "0042" in bad.stderr
    assert not has_registry(db_url)


# -- canary, max-failures --------------------------------------------------------------------


def test_failed_canary_stops_the_fleet(project, dbs, pg_server):
    canary, others = dbs(pg_server), [dbs(pg_server) for _ in range(3)]
    (project / "validations" / "0001_accounts.post.sql").write_text(
        "-- check: canary_refuses\nSELECT 1 WHERE current_database() = "
        f"'{psycopg.conninfo.conninfo_to_dict(canary)['dbname']}';\n"
    )
    fleet_file(
        project,
        [{"name": f"t{i}", "url": u} for i, u in enumerate(others)]
        + [{"name": "canary1", "url": canary, "groups": ["canary"]}],
    )
    result = fleet(project, "migrate", "--canary", "canary", "--json")
    assert result.exit_code == 3, result.output
    doc = document(result)
    assert doc["stopped"] == "the canary group canary failed"
    targets = by_name(doc)
    assert targets["canary1"]["outcome"] == "failed" and targets["canary1"]["exit_code"] == 3
    for i in range(3):
        assert targets[f"t{i}"]["outcome"] == "not started"
        assert not has_registry(others[i])
    assert doc["summary"] == "1 at base, 3 not started; 1 failed"


def test_max_failures_stops_launching(project, dbs, pg_server, tmp_path):
    goods = [dbs(pg_server) for _ in range(2)]
    bad = [{"name": f"bad{i}", "url": f"postgresql://x@/db?host={tmp_path}/none{i}"}
           for i in range(3)]  # fmt: skip
    fleet_file(project, bad + [{"name": f"good{i}", "url": u} for i, u in enumerate(goods)])
    result = fleet(project, "migrate", "--jobs", "1", "--max-failures", "2", "--json")
    assert result.exit_code == 1
    doc = document(result)
    assert doc["stopped"] == "2 targets failed (--max-failures)"
    outcomes = [t["outcome"] for t in doc["targets"]]
    assert outcomes == ["unreachable", "unreachable", "not started", "not started", "not started"]
    # run again without the limit: the rest converge
    again = fleet(project, "-t", "good0", "-t", "good1", "migrate")
    assert again.exit_code == 0 and [revision(u) for u in goods] == ["0003", "0003"]


def test_per_server_limit_bounds_connections(project, dbs, pg_server, pg15):
    targets = [{"name": f"a{i}", "url": dbs(pg_server)} for i in range(4)]
    targets += [{"name": f"b{i}", "url": dbs(pg15)} for i in range(4)]
    fleet_file(project, targets)
    result = fleet(project, "migrate", "--jobs", "8", "--per-server", "2", "--json")
    assert result.exit_code == 0, result.output
    doc = document(result)
    assert doc["jobs"] == 8 and doc["per_server"] == 2
    assert sorted(doc["peak_connections"].values()) == [2, 2]


# -- a server dies in the middle; interrupts ----------------------------------------------------


@pytest.fixture
def doomed(monkeypatch):
    # Commits must survive `pg_ctl stop -m immediate`: synchronous_commit on for this one.
    import conftest

    monkeypatch.setitem(conftest.TEST_SERVER_SETTINGS, "synchronous_commit", "on")
    server = _start_server("embedded", embedded.wheel_bindir())
    try:
        yield server
    finally:
        server.close()


def _sleeping(url: str) -> int:
    """Sessions running the slow migration's sleep now. Only active ones: an idle session
    shows its last query too, and a previous test's finished sleeper lingers as idle until its
    backend exits, which made a test signal its run before the sleep began."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(1.5)%' "
            "AND state = 'active' AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def test_server_killed_mid_run_others_finish_and_rerun_converges(tmp_path, dbs, pg_server, doomed):
    project = write_project(tmp_path / "proj", SLOW_PROJECT)
    live = [dbs(pg_server) for _ in range(2)]
    dying = [doomed.url(doomed.create_database()) for _ in range(2)]
    fleet_file(
        project,
        [{"name": f"live{i}", "url": u} for i, u in enumerate(live)]
        + [{"name": f"dying{i}", "url": u} for i, u in enumerate(dying)],
    )

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _sleeping(doomed.admin_url) < 2:
            time.sleep(0.05)
        doomed._cluster.stop(mode="immediate")

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    result = fleet(project, "migrate", "--jobs", "4", "--json")
    killer.join()
    assert result.exit_code == 1, result.output
    targets = by_name(document(result))
    for i in range(2):
        assert targets[f"live{i}"]["outcome"] == "migrated"
        assert targets[f"live{i}"]["after"] == "0003"
        dead = targets[f"dying{i}"]
        assert dead["outcome"] == "failed" and dead["after"] == "0001", dead
        assert "\n" not in dead["error"]
    assert [revision(u) for u in live] == ["0003", "0003"]

    doomed._cluster.start()
    assert [revision(u) for u in dying] == ["0001", "0001"]  # 0002 was rolled back whole
    again = fleet(project, "migrate", "--json")
    assert again.exit_code == 0, again.output
    targets = by_name(document(again))
    assert {n: t["outcome"] for n, t in targets.items()} == {
        "live0": "up to date",
        "live1": "up to date",
        "dying0": "migrated",
        "dying1": "migrated",
    }
    assert targets["dying0"]["before"] == "0001"
    assert [revision(u) for u in dying] == ["0003", "0003"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_launching_and_lets_the_running_target_stop_cleanly(
    tmp_path, dbs, pg_server, signum
):
    project = write_project(tmp_path / "proj", SLOW_PROJECT)
    urls = [dbs(pg_server) for _ in range(3)]
    fleet_file(project, [{"name": f"t{i}", "url": u} for i, u in enumerate(urls)])
    executable = Path(sys.executable).parent / "dbkit"
    env = {**os.environ, "DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    process = subprocess.Popen(
        [str(executable), "--project", str(project), "fleet", "migrate", "--jobs", "1", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _sleeping(pg_server.admin_url) < 1:
        time.sleep(0.05)
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == (130 if signum == signal.SIGINT else 143), err
    doc = json.loads(out)
    assert doc["stopped"] == "interrupted"
    targets = by_name(doc)
    first = targets["t0"]
    assert first["outcome"] == "interrupted" and first["after"] == "0002", first
    assert first["exit_code"] == process.returncode and doc["exit_code"] == process.returncode
    assert "stopped before migrating 0003_orders" in first["error"]
    assert [targets["t1"]["outcome"], targets["t2"]["outcome"]] == ["not started"] * 2
    assert signal.Signals(signum).name in err
    # the migration that was running finished whole; nothing else was started
    assert [revision(u) for u in urls] == ["0002", None, None]
    with psycopg.connect(urls[0], autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('slow_done')").fetchone()[0] == "slow_done"
    rerun = fleet(project, "migrate")
    assert rerun.exit_code == 0, rerun.output
    assert [revision(u) for u in urls] == ["0003"] * 3


def test_tenant_beside_a_whole_database_target_with_shared_schemas(project, db_url):
    (project / "fleet.toml").write_text(
        '[fleet]\nshared_schemas = ["public"]\n'
        f'[[targets]]\nname = "whole"\nurl = "{db_url}"\n'
        f'[[targets]]\nname = "acme"\nurl = "{db_url}"\nschema = "acme"\n'
    )
    assert fleet(project, "-t", "whole", "migrate").exit_code == 0
    # public.alembic_version (0003) is on acme's search_path: acme must still start at base
    status = document(fleet(project, "status", "--json"))
    assert by_name(status)["acme"]["before"] is None and by_name(status)["acme"]["pending"] == 3
    result = fleet(project, "migrate", "--json")
    assert result.exit_code == 0, result.output
    assert by_name(document(result))["acme"]["outcome"] == "migrated"
    assert revision(db_url) == revision(db_url, "acme") == "0003"
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('acme.orders')").fetchone()[0] == "acme.orders"
    back = fleet(project, "-t", "acme", "rollback", "--to", "base")
    assert back.exit_code == 0, back.output
    assert revision(db_url, "acme") is None and revision(db_url) == "0003"
    with psycopg.connect(db_url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('public.orders'), to_regclass('acme.orders')")
        assert found.fetchone() == ("orders", None)
    bad = fleet_file(project, [{"name": "a", "url": db_url}])
    bad.write_text('[fleet]\nshared_schemas = ["Pub lic"]\n' + bad.read_text())
    refused = fleet(project, "status")
    assert refused.exit_code == 2 and "not a plain lowercase schema name" in refused.stderr


def test_live_table_on_a_terminal(project, db_url, tmp_path):
    import pty

    fleet_file(
        project,
        [
            {"name": "here", "url": db_url},
            {"name": "gone", "url": f"postgresql://x@/db?host={tmp_path}/none"},
        ],
    )
    executable = Path(sys.executable).parent / "dbkit"
    env = {**os.environ, "DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [str(executable), "--project", str(project), "fleet", "migrate"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert process.wait(timeout=30) == 1
    screen = b"".join(chunks).decode(errors="replace")
    header = next(line for line in screen.splitlines() if "revision" in line)
    for column in ("target", "revision", "phase", "state", "time"):
        assert column in header
    assert "\x1b[" in screen  # drawn with terminal control sequences
    assert "fleet migrate: 2 targets in " in screen and "1 at 0003, 1 unreachable" in screen
    assert revision(db_url) == "0003"


def test_second_signal_cancels_the_running_migration_and_exits_at_once(tmp_path, dbs, pg_server):
    project = write_project(tmp_path / "proj", SLOW_PROJECT)
    urls = [dbs(pg_server) for _ in range(2)]
    fleet_file(project, [{"name": f"t{i}", "url": u} for i, u in enumerate(urls)])
    executable = Path(sys.executable).parent / "dbkit"
    env = {**os.environ, "DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"}
    process = subprocess.Popen(
        [str(executable), "--project", str(project), "fleet", "migrate", "--jobs", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _sleeping(pg_server.admin_url) < 1:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert time.monotonic() - t0 < 1.4  # before the 1.5 s statement could have finished
    assert "interrupted again (SIGINT): exiting at once" in err
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _sleeping(pg_server.admin_url):
        time.sleep(0.05)
    assert _sleeping(pg_server.admin_url) == 0  # cancelled on the server, not left running
    assert [revision(u) for u in urls] == ["0001", None]  # 0002 was rolled back whole
    assert fleet(project, "migrate").exit_code == 0
    assert [revision(u) for u in urls] == ["0003", "0003"]


def test_protected_environment_needs_yes_for_a_fleet_rollback(project, db_url):
    (project / "dbkit.toml").write_text("[env.production]\nprotected = true\n")
    fleet_file(project, [{"name": "a", "url": db_url}])
    assert fleet(project, "migrate").exit_code == 0

    def production(*args):
        return CliRunner().invoke(
            main,
            ["--project", str(project), "--env", "production", "fleet", *args],
            env={"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "NO_COLOR": "1"},
        )

    refused = production("rollback", "--to", "base", "--json")
    assert refused.exit_code == 2, refused.output
    target = by_name(document(refused))["a"]
    assert "needs confirmation" in target["error"] and target["exit_code"] == 2
    assert revision(db_url) == "0003"
    confirmed = production("rollback", "--to", "base", "--yes")
    assert confirmed.exit_code == 0, confirmed.output
    assert revision(db_url) is None


# -- the unified schema's schema-wide checks in a tenant fleet ---------------------------------

STAMPED = Spec(
    "stamped",
    "core",
    """\
CREATE FUNCTION update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
CREATE TABLE accounts (id bigint PRIMARY KEY, updated_at timestamptz);
CREATE TRIGGER update_accounts_updated_at BEFORE UPDATE ON accounts
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
""",
    "DROP TABLE accounts;\nDROP FUNCTION update_updated_at_column();\n",
)


def test_every_phase_checks_judge_the_tenants_own_schema(tmp_path, dbs, pg_server):
    """validations/phases/_every.post.sql, the repository's file as it is, in a fleet of
    tenant schemas: each tenant's run judges that tenant's schema (its current_schema()),
    not public. public's table without an updated_at trigger fails no tenant; bravo's own
    such table fails bravo's phase, and acme, in the same database, migrates."""
    project = write_project(tmp_path / "proj", [STAMPED])
    phases = project / "validations" / "phases"
    phases.mkdir(parents=True)
    shutil.copy(ROOT / "validations" / "phases" / "_every.post.sql", phases)
    url = dbs(pg_server)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.legacy (id int, updated_at timestamptz)")
        conn.execute("CREATE SCHEMA bravo")
        conn.execute("CREATE TABLE bravo.imports (id int, updated_at timestamptz)")
    fleet_file(project, [{"name": n, "url": url, "schema": n} for n in ("acme", "bravo")])
    result = fleet(project, "migrate", "--json")
    assert result.exit_code == 3, result.output
    targets = by_name(document(result))
    assert targets["acme"]["outcome"] == "migrated", targets["acme"]
    assert revision(url, "acme") == "0001"
    bravo = targets["bravo"]
    assert bravo["outcome"] == "failed" and bravo["exit_code"] == 3, bravo
    assert "updated_at_triggers_present" in bravo["error"] and "imports" in bravo["error"]
    assert "legacy" not in bravo["error"]
    assert revision(url, "bravo") is None  # the phase was rolled back
    # the same file on the database itself still judges public
    single = CliRunner().invoke(
        main, ["--project", str(project), "--url", url, "migrate"],
        env={"DBKIT_DATABASE_URL": "", "DATABASE_URL": ""},
    )  # fmt: skip
    assert single.exit_code == 3 and "legacy" in single.stderr, single.output
