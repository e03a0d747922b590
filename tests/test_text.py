"""The wording helpers every message uses (dbkit/text.py) and how check results read."""

from __future__ import annotations

from dbkit.plan.checks import CheckResult, format_row
from dbkit.text import does_not_exist, names, one_line, plural


def test_plural_counts_agree_with_their_noun():
    assert plural(0, "migration") == "0 migrations"
    assert plural(1, "migration") == "1 migration"
    assert plural(2, "applied migration") == "2 applied migrations"
    assert plural(1, "index", "indexes") == "1 index"
    assert plural(3, "index", "indexes") == "3 indexes"


def test_lists_of_names_and_their_verb():
    assert names(["users"]) == "users"
    assert names(["users", "businesses"]) == "users and businesses"
    assert names(["a", "b", "c"], "or") == "a, b or c"
    assert does_not_exist(["users"]) == "users does not exist yet"
    assert does_not_exist(["users", "businesses"]) == "users and businesses do not exist yet"


def test_driver_lines_are_joined_as_sentences():
    text = (
        'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
    )
    assert one_line(text) == (
        'connection to server at "127.0.0.1", port 1 failed: Connection refused. Is the server '
        "running on that host and accepting TCP/IP connections?"
    )
    assert one_line("ERROR:  x\nDETAIL:  y") == "ERROR:  x. DETAIL:  y"
    assert one_line("failed:\n  reason") == "failed: reason"


def test_sample_rows_read_as_columns_and_values():
    assert format_row({"id": 7, "email": None, "name": "Ann Lee", "ok": True}) == (
        "id=7, email=NULL, name='Ann Lee', ok=true"
    )
    assert format_row({"note": "it's"}) == "note='it''s'"


def test_a_preservation_failure_says_what_the_table_lost():
    lost = CheckResult(
        name="data_preserved_public_users",
        location="phase crm data preservation",
        rows_found=10,
        sample=[{"table": "public.users", "before": 25, "after": 15, "lost": 10}],
    )
    assert lost.found == "public.users lost 10 of 25 rows"
    assert lost.rows() == []
    gone = CheckResult(
        name="data_preserved_public_t",
        location="phase crm data preservation",
        rows_found=1,
        sample=[{"table": "public.t", "before": 1, "after": None, "lost": 1}],
    )
    assert gone.found == "public.t is gone with its 1 row"
    plain = CheckResult(name="c", location="validations/x.sql:1", rows_found=1, sample=[{"a": 1}])
    assert (plain.found, plain.rows()) == ("1 row", ["a=1"])
