"""Queries as people paste them: a paragraph, a pile of parentheses, a whole sentence quoted.
One line saying what was too long, or an answer; never a RecursionError, on every engine."""

from __future__ import annotations

import random

import pytest

from index import QueryError, parse_query
from index.plan import MAX_PHRASE_WORDS, lower
from index.query import MAX_DEPTH, MAX_TERMS
from tests.conftest import ENGINES, REPO, Dossier

WORDS = ("please find attached our quotation for the order we can offer price FOB Ningbo delivery in weeks "
         "thank you best regards").split()


def _paste(count: int) -> str:
    rng = random.Random(count)
    return " ".join(rng.choice(WORDS) for _ in range(count))


@pytest.mark.parametrize("query, problem", [
    ("(" * 300 + "price" + ")" * 300, f"nest more than {MAX_DEPTH} levels"),
    ("NOT " * 300 + "price", f"nest more than {MAX_DEPTH} levels"),
    ("-(" * 300 + "price" + ")" * 300, f"nest more than {MAX_DEPTH} levels"),
    (_paste(1000), f"1000 words and filters, at most {MAX_TERMS}"),
    ('"' + _paste(1000) + '"', f"1000 words (in Chinese, each pair of characters), at most {MAX_PHRASE_WORDS}"),
    ('"' + _paste(MAX_PHRASE_WORDS + 1) + '"', f"at most {MAX_PHRASE_WORDS}"),
    ("报价单" * 100, f"at most {MAX_PHRASE_WORDS}"),
])
def test_too_long_or_too_deep_is_one_short_line(query: str, problem: str) -> None:
    with pytest.raises(QueryError) as info:
        lower(query, {})
    line = str(info.value)
    assert problem in line and "\n" not in line and len(line) < 300, line


def test_at_the_bounds_a_query_still_parses() -> None:
    assert parse_query("(" * MAX_DEPTH + "price" + ")" * MAX_DEPTH) is not None
    assert parse_query(_paste(MAX_TERMS)) is not None
    assert lower('"' + _paste(MAX_PHRASE_WORDS) + '"', {})[0] is not None


@pytest.mark.parametrize("engine", ENGINES)
def test_the_cli_answers_long_queries_in_one_line(dossier: Dossier) -> None:
    dossier.run("import", REPO / "sample" / "mailbox")
    for query in ("(" * 300 + "price" + ")" * 300, _paste(1000), '"' + _paste(1000) + '"', "报价单" * 400):
        result = dossier.run("search", query, expect=1)
        assert result.stdout == "" and result.stderr.count("\n") == 1 and "Error: " in result.stderr
    # The longest query allowed runs on the engine (Whoosh recursed on a long AND).
    assert dossier.run("search", _paste(MAX_TERMS)).stdout
    assert dossier.run("search", " OR ".join(WORDS * 4)).stdout.startswith("20")
