"""The query language's parser: the tree it builds and the errors it gives (pure)."""

from __future__ import annotations

from datetime import datetime

import pytest

from index import QueryError, filter_values, parse_query
from index.query import AndNode, DateRange, FilterNode, NotNode, OrNode, TextNode


def test_words_operators_and_parentheses() -> None:
    assert parse_query("quotation AND (FOB OR CIF) NOT sample") == AndNode((
        TextNode("quotation"),
        OrNode((TextNode("FOB"), TextNode("CIF"))),
        NotNode(TextNode("sample")),
    ))
    assert parse_query("-spam ham") == AndNode((NotNode(TextNode("spam")), TextNode("ham")))
    assert parse_query("a OR b c") == OrNode((TextNode("a"), AndNode((TextNode("b"), TextNode("c")))))
    assert parse_query("   ") is None


def test_phrases_and_prefixes() -> None:
    assert parse_query('"price list" pro*') == AndNode((TextNode("price list", is_phrase=True),
                                                        TextNode("pro", is_prefix=True)))
    assert parse_query("“报价 单”") == TextNode("报价 单", is_phrase=True)  # curly quotes are quotes


def test_chinese_touching_latin_splits_into_two_required_words() -> None:
    assert parse_query("报价单FOB") == AndNode((TextNode("报价单"), TextNode("FOB")))
    assert parse_query("e-mail") == TextNode("e-mail")


def test_full_width_syntax_reads_as_ascii() -> None:
    assert parse_query("ｆｒｏｍ：bob （报价 OR 報價）") == AndNode((
        FilterNode("from", "bob"), OrNode((TextNode("报价"), TextNode("報價"))),
    ))


def test_filters() -> None:
    tree = parse_query('customer:"Acme Industrial" from:anna@acme.com folder:Cust* has:attachments is:QUOTE lang:ZH')
    assert tree == AndNode((
        FilterNode("customer", "Acme Industrial", is_phrase=True),
        FilterNode("from", "anna@acme.com"),
        FilterNode("folder", "Cust", is_prefix=True),
        FilterNode("has", "attachment"),
        FilterNode("is", "quote"),
        FilterNode("lang", "zh"),
    ))
    assert filter_values(tree, "customer") == ["Acme Industrial"]
    assert filter_values(parse_query("x OR NOT customer:b"), "customer") == ["b"]


@pytest.mark.parametrize(("query", "start", "end"), [
    ("date:2025-03..2025-06", datetime(2025, 3, 1), datetime(2025, 7, 1)),
    ("date:2025", datetime(2025, 1, 1), datetime(2026, 1, 1)),
    ("date:2024-02-29", datetime(2024, 2, 29), datetime(2024, 3, 1)),
    ("date:2025-12", datetime(2025, 12, 1), datetime(2026, 1, 1)),
    ("date:..2025-06", None, datetime(2025, 7, 1)),
    ("after:2025-03", datetime(2025, 3, 1), None),
    ("before:2025/03/15", None, datetime(2025, 3, 15)),
])
def test_dates(query: str, start: datetime | None, end: datetime | None) -> None:
    node = parse_query(query)
    assert isinstance(node, FilterNode) and node.range == DateRange(start, end)


@pytest.mark.parametrize(("query", "message"), [
    ('foo "bar', "column 5: this quote is never closed"),
    ("(a OR b", "column 1: this ( is never closed"),
    ("a)", "column 2: this ) has no matching ("),
    ("a OR", "column 3: OR needs something after it"),
    ("NOT", "column 1: NOT needs something after it"),
    ("AND b", "column 1: AND needs something before it"),
    ("()", "column 1: empty parentheses"),
    ("x foo:bar", "column 3: unknown filter 'foo:'"),
    ("date:2025-13", "'2025-13' is not a real date"),
    ("date:2025-06..2025-03", "ends before it starts"),
    ("before:soon", "'soon' is not a date"),
    ("has:cheese", "has:cheese is not known"),
    ("lang:fr", "lang:fr is not known"),
    ("from:", "from: needs a value"),
    ('subject:"', "this quote is never closed"),
    ("*", "no letters or digits"),
])
def test_malformed_queries_name_the_problem(query: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
