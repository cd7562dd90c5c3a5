"""Searching the index: query parsing, filters, sorting and highlighted snippets."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from whoosh import highlight
from whoosh.qparser import MultifieldParser
from whoosh.query import And, DateRange, Every, Or, Phrase, Query, Term, Wildcard

from .errors import QueryError
from .store import SearchIndex

#: Fields a bare word is looked up in.
DEFAULT_FIELDS = ("subject", "body", "sender", "recipients", "attachment")
#: Characters around a match in a snippet.
SNIPPET_CHARS = 240
MARK_OPEN, MARK_CLOSE = "**", "**"
#: Stored fields a snippet is taken from, in order of preference.
SNIPPET_FIELDS = ("body", "subject", "attachment")


@dataclass(frozen=True)
class SearchRequest:
    """What to look for. Empty ``text`` with filters lists the filtered messages."""

    text: str = ""
    customer_ids: tuple[int, ...] | None = None  # None: no customer filter; (): matches nothing
    from_address: str | None = None
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive
    limit: int = 20
    sort: str = "date"  # "date" (newest first) or "relevance"


@dataclass(frozen=True)
class Hit:
    id: str  # raw SHA-256
    score: float
    date: datetime | None
    snippet: str


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[Hit, ...]
    total: int  # matching documents, before the limit


class _MarkFormatter(highlight.Formatter):
    """Marks matches as **text**, merging overlapping CJK bigram matches into one mark."""

    between = " … "

    def format_fragment(self, fragment, replace=False):
        text = fragment.text
        spans: list[list[int]] = []
        for t in sorted(fragment.matches, key=lambda t: (t.startchar, t.endchar)):
            if t.startchar is None:
                continue
            if spans and t.startchar <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], t.endchar)
            else:
                spans.append([t.startchar, t.endchar])
        out, pos = [], fragment.startchar
        for start, end in spans:
            start = max(start, pos)
            if start >= end:
                continue
            out.append(text[pos:start])
            out.append(MARK_OPEN + text[start:end] + MARK_CLOSE)
            pos = end
        out.append(text[pos:fragment.endchar])
        return " ".join("".join(out).split())

    def format_token(self, text, token, replace=False):  # required by the base class
        return MARK_OPEN + highlight.get_text(text, token, replace) + MARK_CLOSE


_FULLWIDTH_ALNUM = re.compile("[\u3000\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")


def _fold_width(text: str) -> str:
    """Full-width letters, digits and spaces to ASCII; case and punctuation are left alone
    so that AND/OR/NOT stay operators and a full-width ？ or （ does not become query syntax."""
    return _FULLWIDTH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def _parse(ix, text: str) -> Query:
    text = text.strip()
    if not text:
        return Every()
    parser = MultifieldParser(list(DEFAULT_FIELDS), schema=ix.schema, fieldboosts=None)
    try:
        query = parser.parse(_fold_width(text))
    except Exception as exc:  # Whoosh's parser raises assorted errors on odd input
        raise QueryError(
            f"cannot understand the query {text!r}: check its quotes, parentheses and AND/OR/NOT"
        ) from exc
    return query


def _filters(request: SearchRequest) -> Query | None:
    parts: list[Query] = []
    if request.customer_ids is not None:
        ids = [str(i) for i in request.customer_ids]
        if not ids:
            return Term("id", "\0none")  # a customer with no mail: nothing can match
        parts.append(Or([Term("customer", i) for i in ids]) if len(ids) > 1 else Term("customer", ids[0]))
    if request.from_address:
        value = request.from_address.strip().lower()
        if "@" in value.strip("@"):
            parts.append(Term("from_addr", value))
        else:  # a domain: the sender's host is it or one of its subdomains
            domain = value.lstrip("@")
            parts.append(Or([Wildcard("from_addr", "*@" + domain), Wildcard("from_addr", "*." + domain)]))
    if request.since or request.until:
        parts.append(DateRange("date", request.since, request.until, endexcl=True))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)


def search(index: SearchIndex, request: SearchRequest) -> SearchResult:
    """Run ``request``; hits newest first (or by relevance) with highlighted snippets.

    Raises QueryError for a query that cannot be parsed, SearchIndexError when the
    index cannot be opened.
    """
    if request.limit < 1:
        raise QueryError("the result limit must be at least 1")
    ix = index.whoosh
    query = _parse(ix, request.text)
    filter_query = _filters(request)
    with ix.searcher() as searcher:
        kwargs = {"limit": request.limit, "filter": filter_query}
        if request.sort == "date" or isinstance(query, Every):
            kwargs.update(sortedby="date", reverse=True)
        results = searcher.search(query, **kwargs)
        results.fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=80)
        results.formatter = _MarkFormatter()
        words = _query_words(query)
        hits = []
        for hit in results:
            hits.append(Hit(
                id=hit["id"],
                score=float(hit.score or 0.0),
                date=hit.get("date"),
                snippet=_snippet(hit, words),
            ))
        return SearchResult(hits=tuple(hits), total=len(results))


#: Characters of a long body around its first match that the highlighter re-reads.
_WINDOW = 2000


def _query_words(query: Query) -> dict[str, frozenset[str]]:
    """The query's words (a prefix or wildcard up to its first wildcard character) per snippet
    field, to find the part of a long body worth highlighting."""
    words: dict[str, set[str]] = {}
    for leaf in query.leaves():
        fieldname = getattr(leaf, "fieldname", None)
        if fieldname not in SNIPPET_FIELDS:
            continue
        if isinstance(leaf, Phrase):
            found = leaf.words
        else:
            text = getattr(leaf, "text", None)
            found = [re.split(r"[*?]", text)[0]] if isinstance(text, str) else []
        words.setdefault(fieldname, set()).update(w for w in found if w)
    return {k: frozenset(v) for k, v in words.items()}


def _window(text: str, words: frozenset[str]) -> str:
    """A slice of ``text`` around the first place a query word occurs (highlighting re-tokenizes
    what it is given, so a whole long body would cost far more than the search itself)."""
    if len(text) <= _WINDOW:
        return text
    lowered = text.lower()
    found = [pos for pos in (lowered.find(w) for w in words) if pos >= 0]
    start = max(0, min(found) - _WINDOW // 2) if found else 0
    return text[start:start + _WINDOW]


def _snippet(hit, words: dict[str, frozenset[str]]) -> str:
    for name in SNIPPET_FIELDS:
        text = hit.get(name) or ""
        if text and words.get(name):
            marked = hit.highlights(name, text=_window(text, words[name]), minscore=1)
            if marked:
                return marked
    body = " ".join((hit.get("body") or "")[:SNIPPET_CHARS * 4].split())
    return body[:SNIPPET_CHARS] + ("…" if len(body) > SNIPPET_CHARS else "")


def all_ids(index: SearchIndex) -> Iterable[str]:
    """Every document id in the index (for consistency checks)."""
    if not index.exists:
        return []
    with index.whoosh.searcher() as searcher:
        return [fields["id"] for fields in searcher.all_stored_fields()]
