"""Splitting SQL files into statements and classifying them, without a database: what the parser
accepts, line numbers, chunk boundaries in awkward places, and work that grows linearly."""

from __future__ import annotations

import pglast
import pytest

from dbkit.plan import sqltext

AWKWARD = """-- a comment; with a semicolon
CREATE TABLE t (id int, note text);
INSERT INTO t VALUES (1, 'a string;
with a semicolon at a line end;
');
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$
BEGIN
  RETURN 1;
END;
$body$;
CREATE FUNCTION g() RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT 1;
  SELECT 2;
END;
/* a block comment;
   /* nested; */
   still inside;
*/
SELECT 'é', "quoted;
identifier" FROM t;
"""
EXPECTED_LINES = [2, 3, 6, 11, 20]


def test_split_awkward_text_with_lines():
    statements = sqltext.split(AWKWARD)
    assert [s.line for s in statements] == EXPECTED_LINES
    assert statements[3].text.startswith("CREATE FUNCTION g()")
    assert statements[3].text.rstrip().endswith("END")
    assert [AWKWARD[s.offset : s.offset + len(s.text)] for s in statements] == [
        s.text for s in statements
    ]


def test_statements_rebuilt_from_their_facts_are_the_parsed_ones():
    """What the check book caches of a file's statements (JSON) gives back the same statements,
    CREATE INDEX CONCURRENTLY targets and relations included, without parsing."""
    import json

    sql = (
        AWKWARD
        + "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_t ON app.t (id);\n"
        + "DROP INDEX CONCURRENTLY IF EXISTS ix_old;\n"
    )
    parsed = sqltext.split(sql)
    facts = json.loads(json.dumps(sqltext.statement_facts(sql)))
    rebuilt = sqltext.from_facts(sql, facts)
    assert [(s.text, s.line, s.offset) for s in rebuilt] == [
        (s.text, s.line, s.offset) for s in parsed
    ]
    assert [s.concurrent_index for s in rebuilt] == [s.concurrent_index for s in parsed]
    assert [s.relations for s in rebuilt] == [s.relations for s in parsed]
    assert rebuilt[-2].concurrent_index == ("app", "ix_t")
    assert rebuilt[-2].relations == ["app.t"] and rebuilt[-1].relations == ["ix_old"]


@pytest.mark.parametrize("chunk", [1, 7, 40, 100])
def test_split_is_the_same_whatever_the_chunk_size(monkeypatch, chunk):
    """Chunks that stop inside a string, a dollar quote, a BEGIN ATOMIC body or a comment are
    retried longer, so every chunk size gives the statements of one whole parse."""
    whole = [(s.text, s.line, s.offset) for s in sqltext.split(AWKWARD)]
    monkeypatch.setattr(sqltext, "CHUNK", chunk)
    assert [(s.text, s.line, s.offset) for s in sqltext.split(AWKWARD)] == whole
    reference = [AWKWARD[p] for p in pglast.split(AWKWARD, with_parser=True, only_slices=True)]
    assert [text for text, _, _ in whole] == [t for t in reference if t.strip()]


@pytest.mark.parametrize("where", ["first", "last"])
def test_text_the_parser_rejects_comes_back_whole(monkeypatch, where):
    monkeypatch.setattr(sqltext, "CHUNK", 10)
    good = "SELECT 1;\n" * 50
    sql = "SELEC 1;\n" + good if where == "first" else good + "SELEC 1;\n"
    assert sqltext.split(sql) == [sqltext.Statement(text=sql, line=1, offset=0)]
    assert sqltext.split("  \n-- only a comment\n") == []


def test_chunked_parsing_does_work_linear_in_the_text(monkeypatch):
    """The characters handed to the parser stay within a small multiple of the text's length,
    for valid text and for a syntax error at the very end (the case that used to be quadratic)."""
    monkeypatch.setattr(sqltext, "CHUNK", 200)
    parsed: list[int] = []

    def counting(chunk):
        parsed.append(len(chunk))
        return pglast.split(chunk, with_parser=True, only_slices=True)

    for size in (1_000, 4_000):
        valid = "".join(f"INSERT INTO t VALUES ({i}, 'é;\n');\n" for i in range(size))
        parsed.clear()
        assert sum(len(p) for _, _, p in sqltext._parsed_chunks(valid, counting)) == size
        assert sum(parsed) <= 3 * len(valid)
        broken = valid + "SELEC 1;\n"
        parsed.clear()
        with pytest.raises(pglast.parser.ParseError):
            list(sqltext._parsed_chunks(broken, counting))
        assert sum(parsed) <= 10 * len(broken)


def test_could_remove_rows_across_chunks(monkeypatch):
    monkeypatch.setattr(sqltext, "CHUNK", 50)
    creates = "".join(
        f"CREATE TABLE t{i} (id int);\nCOMMENT ON TABLE t{i} IS 'x';\n" for i in range(40)
    )
    assert sqltext.could_remove_rows(creates) is False
    assert sqltext.could_remove_rows(creates + "DELETE FROM t1;\n") is True
    assert sqltext.could_remove_rows(creates + "ALTER TABLE t1 DROP COLUMN id;\n") is True
    assert sqltext.could_remove_rows(creates + "ALTER TABEL x;\n") is True  # does not parse
