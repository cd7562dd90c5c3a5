"""The search query language, parsed into a small syntax tree (pure: no Whoosh here).

    quotation AND (FOB OR CIF) NOT sample      words, AND/OR/NOT (also "-word"), parentheses
    "price list"  报价单  报价单FOB  pro*           phrases, Chinese with or without spaces, prefixes
    from:anna@acme.com  to:acme.com  cc:bob  customer:"Acme Industrial"  domain:acme.com
    subject:quote  filename:pdf  folder:INBOX  account:anna  has:attachment  is:quote  lang:zh
    before:2025-06-01  after:2025-03  date:2025-03..2025-06  date:2025

Words next to each other must all match (AND). Full-width letters, digits and punctuation
("ｆｒｏｍ：", "（", "“报价”") read as their ASCII forms. A malformed query raises
:class:`~index.errors.QueryError` naming the column of the problem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from .errors import QueryError

__all__ = [
    "FILTERS",
    "AndNode",
    "DateRange",
    "FilterNode",
    "Node",
    "NotNode",
    "OrNode",
    "TextNode",
    "filter_values",
    "parse_query",
]

#: Filter names and what they take.
FILTERS = {
    "from": "an address, a domain or a name",
    "to": "an address, a domain or a name",
    "cc": "an address, a domain or a name",
    "customer": "a customer name (or part of it)",
    "domain": "a mail domain of anyone in the message",
    "subject": "words in the subject",
    "filename": "words in an attachment's file name",
    "folder": "a folder name (prefix* allowed)",
    "account": "an account label (prefix* allowed)",
    "has": "attachment",
    "is": "quote",
    "lang": "zh, ja, ko or en",
    "before": "a date: YYYY, YYYY-MM or YYYY-MM-DD",
    "after": "a date: YYYY, YYYY-MM or YYYY-MM-DD",
    "date": "a date or a range: 2025-03..2025-06",
}
_HAS = frozenset({"attachment", "attachments"})
_IS = frozenset({"quote"})
_LANGS = frozenset({"zh", "ja", "ko", "en"})


# --- the tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextNode:
    """Free text: one word, a phrase (quoted) or a prefix (``word*``)."""

    text: str
    is_phrase: bool = False
    is_prefix: bool = False


@dataclass(frozen=True)
class DateRange:
    start: datetime | None  # inclusive, naive UTC
    end: datetime | None  # exclusive


@dataclass(frozen=True)
class FilterNode:
    """``name:value``; dates come with their parsed ``range``."""

    name: str
    value: str
    is_phrase: bool = False
    is_prefix: bool = False
    range: DateRange | None = None


@dataclass(frozen=True)
class NotNode:
    child: Node


@dataclass(frozen=True)
class AndNode:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class OrNode:
    children: tuple[Node, ...]


Node = TextNode | FilterNode | NotNode | AndNode | OrNode


# --- tokens ----------------------------------------------------------------------------------

# Curly and corner quotes are quotes too; NFKC does not fold them.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "「": '"', "」": '"', "『": '"', "』": '"', "＂": '"'})


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "word", "phrase", "op", "-"
    text: str
    column: int  # 1-based, in the query as typed
    field: str | None = None  # "name" of a name:value token


def _fold(text: str) -> str:
    # NFKC, one character at a time so that columns stay those of the query as typed.
    out = []
    for ch in text.translate(_QUOTES):
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


#: Bounds on a query, so that a pasted paragraph or a pile of parentheses gets one line saying
#: what to shorten instead of exhausting the parser's, the planner's or an engine's stack: words
#: and filters in all, and how deeply parentheses and NOTs nest. Phrases are bounded in
#: :mod:`index.plan`, where their words are known.
MAX_TERMS = 100
MAX_DEPTH = 32

_WORD_END = re.compile(r'[\s()"]')
_FIELD = re.compile(r"([A-Za-z]+):")


def _error(query: str, column: int, problem: str) -> QueryError:
    return QueryError(f"query {shorten(query)!r}, column {column}: {problem}")


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to about ``limit`` characters for an error line (a pasted paragraph stays one short line)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _tokens(query: str) -> list[_Token]:
    text = _fold(query)
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, ch, i + 1))
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise _error(query, i + 1, "this quote is never closed")
            tokens.append(_Token("phrase", text[i + 1 : end], i + 1))
            i = end + 1
        elif ch == "-" and i + 1 < n and not text[i + 1].isspace() and (i == 0 or text[i - 1] in " \t\n("):
            tokens.append(_Token("-", "-", i + 1))
            i += 1
        else:
            field = _FIELD.match(text, i)
            if field and field.group(1).lower() in FILTERS:
                start = i
                i = field.end()
                if i < n and text[i] == '"':
                    end = text.find('"', i + 1)
                    if end < 0:
                        raise _error(query, i + 1, "this quote is never closed")
                    tokens.append(_Token("phrase", text[i + 1 : end], start + 1, field.group(1).lower()))
                    i = end + 1
                    continue
                match = _WORD_END.search(text, i)
                end = match.start() if match else n
                if end == i:
                    name = field.group(1).lower()
                    raise _error(query, start + 1, f"{field.group(1)}: needs a value ({FILTERS[name]})")
                tokens.append(_Token("word", text[i:end], start + 1, field.group(1).lower()))
                i = end
                continue
            if field and field.group(1).isascii() and field.end() < n and not text[field.end()].isspace():
                known = " ".join(f"{name}:" for name in FILTERS)
                raise _error(query, i + 1, f"unknown filter {field.group(0)!r} (known: {known}); "
                                           "put it in quotes to search for the text")
            match = _WORD_END.search(text, i)
            end = match.start() if match else n
            word = text[i:end]
            kind = "op" if word in ("AND", "OR", "NOT", "&&", "||") else "word"
            tokens.append(_Token(kind, word, i + 1))
            i = end
    return tokens


# --- dates -----------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?")


def _date_span(value: str, query: str, column: int) -> DateRange:
    """The days a date names: a year, a month or a day."""
    match = _DATE.fullmatch(value)
    if not match:
        raise _error(query, column, f"{value!r} is not a date; use YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(match.group(1)), match.group(2), match.group(3)
    try:
        if day:
            start = datetime(year, int(month), int(day))
            end = datetime.fromordinal(start.toordinal() + 1)
        elif month:
            start = datetime(year, int(month), 1)
            end = datetime(year + (start.month == 12), start.month % 12 + 1, 1)
        else:
            start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    except ValueError:
        raise _error(query, column, f"{value!r} is not a real date") from None
    return DateRange(start, end)


def _date_filter(name: str, value: str, query: str, column: int) -> DateRange:
    if name == "before":
        return DateRange(None, _date_span(value, query, column).start)
    if name == "after":  # on or after the day, month or year named
        return DateRange(_date_span(value, query, column).start, None)
    if ".." in value:
        first, _, last = value.partition("..")
        start = _date_span(first, query, column).start if first else None
        end = _date_span(last, query, column).end if last else None
        if start and end and start >= end:
            raise _error(query, column, f"the range {value!r} ends before it starts")
        if not (start or end):
            raise _error(query, column, "date: needs at least one end of the range")
        return DateRange(start, end)
    return _date_span(value, query, column)


# --- parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str, tokens: list[_Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node | None:
        if not self.tokens:
            return None
        terms = sum(t.kind in ("word", "phrase") for t in self.tokens)
        if terms > MAX_TERMS:
            raise QueryError(f"query {shorten(self.query)!r} is too long: {terms} words and filters, at most "
                             f"{MAX_TERMS}; search for a few distinctive words or a short phrase instead")
        node = self.or_expr()
        token = self.peek()
        if token is not None:  # only a stray ")" stops or_expr early
            raise _error(self.query, token.column, "this ) has no matching (")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (t := self.peek()) is not None and t.kind == "op" and t.text in ("OR", "||"):
            self.take()
            if self.peek() is None or self.peek().kind == ")":
                raise _error(self.query, t.column, "OR needs something after it")
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else OrNode(tuple(children))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while (t := self.peek()) is not None and t.kind != ")" and not (t.kind == "op" and t.text in ("OR", "||")):
            if t.kind == "op" and t.text in ("AND", "&&"):
                self.take()
                if self.peek() is None or self.peek().kind == ")":
                    raise _error(self.query, t.column, "AND needs something after it")
            children.append(self.unary())
        return children[0] if len(children) == 1 else AndNode(tuple(children))

    def unary(self) -> Node:
        token = self.peek()
        if token is None:
            raise _error(self.query, len(self.query) + 1, "the query ends too early")
        if (token.kind == "op" and token.text == "NOT") or token.kind == "-":
            self.take()
            if self.peek() is None or self.peek().kind == ")":
                raise _error(self.query, token.column, "NOT needs something after it")
            with self.nested(token):
                return NotNode(self.unary())
        return self.primary()

    @contextmanager
    def nested(self, token: _Token) -> Iterator[None]:
        """One level deeper (a parenthesis or a NOT); too deep is a QueryError, not a RecursionError."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.query, token.column, f"parentheses and NOTs nest more than {MAX_DEPTH} levels deep "
                                                   "here; remove the extra ones")
        try:
            yield
        finally:
            self.depth -= 1

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "(":
            if self.peek() is not None and self.peek().kind == ")":
                raise _error(self.query, token.column, "empty parentheses")
            if self.peek() is None:
                raise _error(self.query, token.column, "this ( is never closed")
            with self.nested(token):
                node = self.or_expr()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise _error(self.query, token.column, "this ( is never closed")
            self.take()
            return node
        if token.kind == ")":
            raise _error(self.query, token.column, "this ) has no matching (")
        if token.kind == "op":
            raise _error(self.query, token.column, f"{token.text} needs something before it")
        if token.field is not None:
            return self.filter(token)
        if token.kind == "phrase":
            if not token.text.strip():
                raise _error(self.query, token.column, "empty quotes")
            return TextNode(token.text.strip(), is_phrase=True)
        return _words(token.text, self.query, token.column)

    def filter(self, token: _Token) -> Node:
        name, value, is_phrase = token.field, token.text.strip(), token.kind == "phrase"
        if not value:
            raise _error(self.query, token.column, f"{name}: needs a value ({FILTERS[name]})")
        if name in ("before", "after", "date"):
            return FilterNode(name, value, range=_date_filter(name, value, self.query, token.column))
        lowered = value.lower()
        if name == "has" and lowered not in _HAS:
            raise _error(self.query, token.column, f"has:{value} is not known; use has:attachment")
        if name == "is" and lowered not in _IS:
            raise _error(self.query, token.column, f"is:{value} is not known; use is:quote")
        if name == "lang" and lowered not in _LANGS:
            raise _error(self.query, token.column, f"lang:{value} is not known; use one of {', '.join(sorted(_LANGS))}")
        is_prefix = not is_phrase and value.endswith("*") and len(value.rstrip("*")) > 0
        if is_prefix:
            value = value.rstrip("*")
        if name in ("has", "is", "lang"):
            value = lowered.rstrip("s") if name == "has" else lowered
        return FilterNode(name, value, is_phrase=is_phrase, is_prefix=is_prefix)


_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U000323af"
_SCRIPT_RUNS = re.compile(f"[{_CJK}]+|[^{_CJK}]+")


def _words(text: str, query: str, column: int) -> Node:
    """A bare word; where Chinese and Latin letters touch ("报价单FOB") each side is its own word,
    both required, as if typed with a space."""
    is_prefix = text.endswith("*") and len(text.rstrip("*")) > 0
    core = text.rstrip("*") if is_prefix else text
    if not any(ch.isalnum() for ch in core):
        raise _error(query, column, f"{text!r} has no letters or digits to search for")
    parts = [part for part in _SCRIPT_RUNS.findall(core) if any(ch.isalnum() for ch in part)]
    nodes = [TextNode(part) for part in parts]
    if is_prefix:
        nodes[-1] = TextNode(parts[-1], is_prefix=True)
    return nodes[0] if len(nodes) == 1 else AndNode(tuple(nodes))


def parse_query(query: str) -> Node | None:
    """The syntax tree of ``query``; None for an empty query (everything matches).

    Raises QueryError naming the column and the problem.
    """
    return _Parser(query, _tokens(query)).parse()


def filter_values(node: Node | None, name: str) -> list[str]:
    """The values of every ``name:`` filter in the tree (e.g. customer names to look up)."""
    if node is None:
        return []
    if isinstance(node, FilterNode):
        return [node.value] if node.name == name else []
    if isinstance(node, NotNode):
        return filter_values(node.child, name)
    if isinstance(node, AndNode | OrNode):
        return [v for child in node.children for v in filter_values(child, name)]
    return []
