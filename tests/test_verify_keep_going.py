"""`dbkit verify --keep-going` and the kinds of difference (`--accept column-order`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from projects import Spec, write_project

from dbkit.cli import main

TABLE = Spec(
    "items",
    "core",
    "CREATE TABLE items (id int PRIMARY KEY, sku text NOT NULL, note text, qty int);\n",
    "DROP TABLE items;\n",
)
LEFT_INDEX = Spec(  # its rollback forgets the index: a schema difference
    "items_sku_index",
    "core",
    "CREATE INDEX items_sku_idx ON items (sku);\n",
    "SELECT 1;\n",
)
FINE = Spec(
    "labels",
    "core",
    "CREATE TABLE labels (id int PRIMARY KEY);\n",
    "DROP TABLE labels;\n",
)
REORDERS = Spec(  # dropping note and adding it back puts it after qty: column order only
    "drop_note",
    "core",
    "ALTER TABLE items DROP COLUMN note;\n",
    "ALTER TABLE items ADD COLUMN note text;\n",
)
LAST = Spec(
    "tags",
    "core",
    "CREATE TABLE tags (id int PRIMARY KEY);\n",
    "DROP TABLE tags;\n",
)
BROKEN_UP = Spec(
    "broken",
    "core",
    "ALTER TABLE no_such_table ADD COLUMN x int;\n",
    "SELECT 1;\n",
)


def run(project: Path, server_url: str, *args: str):
    env = {"DBKIT_DATABASE_URL": "", "DATABASE_URL": "", "DBKIT_ENV": "", "NO_COLOR": "1"}
    return CliRunner().invoke(
        main, ["--project", str(project), "verify", "--url", server_url, *args], env=env
    )


@pytest.fixture
def project(tmp_path):
    return write_project(tmp_path / "history", [TABLE, LEFT_INDEX, FINE, REORDERS, LAST])


def scratch_left(pg_server) -> list[str]:
    return [
        row[0]
        for row in pg_server._execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'dbkit\\_verify\\_%'"
        )
    ]


def test_without_keep_going_verify_stops_at_the_first(project, pg_server):
    result = run(project, pg_server.admin_url, "--json")
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert [m["name"] for m in data["migrations"]] == ["0001_items", "0002_items_sku_index"]
    assert data["failure"]["name"] == "0002_items_sku_index"


def test_keep_going_reports_every_broken_rollback_with_its_kind(project, pg_server):
    result = run(project, pg_server.admin_url, "--keep-going", "--json")
    assert result.exit_code == 3, result.output
    data = json.loads(result.output)
    assert [m["name"] for m in data["failures"]] == ["0002_items_sku_index", "0004_drop_note"]
    assert [m["ok"] for m in data["migrations"]] == [True, False, True, False, True]
    index, reorder = data["failures"]
    assert index["stage"] == "rollback restores schema"
    assert {d["difference_kind"] for d in index["differences"]} == {"schema"}
    assert any(d["object"] == "public.items_sku_idx" for d in index["differences"])
    assert reorder["stage"] == "rollback restores schema"
    assert reorder["difference_kinds"] == {"column-order": 2}  # note and qty swapped places
    assert data["chain"] is None  # the chain is only walked when every migration passed
    assert data["message"].startswith("2 of 5 migrations failed verification")
    assert scratch_left(pg_server) == []  # every rebuilt database was dropped

    text = run(project, pg_server.admin_url, "--keep-going")
    assert text.exit_code == 3
    lines = text.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("revision"))
    assert lines[header].split() == ["revision", "migration", "verdict", "stage", "differences"]
    assert lines[header + 1].split()[:3] == ["0002", "0002_items_sku_index", "FAIL"]
    assert lines[header + 1].endswith("1 schema")
    assert lines[header + 2].split()[:3] == ["0004", "0004_drop_note", "FAIL"]
    assert lines[header + 2].endswith("2 column-order")
    assert "2 failed, 0 not verified, 3 ok of 5 migrations" in text.output
    assert "column public.items.note: position changed from 3 to 4" in text.output


def test_accept_column_order_lets_that_kind_through_and_reports_it(project, pg_server):
    result = run(project, pg_server.admin_url, "--keep-going", "--accept", "column-order", "--json")
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert [m["name"] for m in data["failures"]] == ["0002_items_sku_index"]
    reorder = data["migrations"][3]
    assert reorder["ok"] is True and len(reorder["accepted_differences"]) == 2
    assert data["accept"] == ["column-order"]

    fixed = write_project(project.parent / "fixed", [TABLE, FINE, REORDERS, LAST])
    result = run(fixed, pg_server.admin_url, "--accept", "column-order")
    assert result.exit_code == 0, result.output
    assert "accepted: 2 column-order" in result.output
    assert "2 differences of accepted kinds (column-order)" in result.output
    assert run(fixed, pg_server.admin_url).exit_code == 3  # not accepted: it fails


def test_keep_going_stops_at_a_migration_that_does_not_apply(tmp_path, pg_server):
    project = write_project(tmp_path / "broken", [TABLE, BROKEN_UP, FINE, LAST])
    result = run(project, pg_server.admin_url, "--keep-going", "--json")
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert [m["name"] for m in data["failures"]] == ["0002_broken"]
    assert data["failures"][0]["stage"] == "up"
    assert data["not_verified"] == ["0003_labels", "0004_tags"]
    assert "2 not verified after one that does not apply" in data["message"]
    assert scratch_left(pg_server) == []


def test_an_unknown_kind_is_refused(project, pg_server):
    from dbkit.compare.verify import verify
    from dbkit.errors import UsageError
    from dbkit.settings import resolve

    with pytest.raises(UsageError, match="'schema': not a kind of difference that can be"):
        verify(resolve(project, environ={}), server_url=pg_server.admin_url, accept=["schema"])
    result = run(project, pg_server.admin_url, "--accept", "indexes")
    assert result.exit_code == 2 and "dbkit: error: invalid value for '--accept'" in result.output
