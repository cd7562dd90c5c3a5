"""Searching the index: query parsing, filters, sorting and highlighted snippets."""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from whoosh import highlight
from whoosh.matching import NullMatcher, UnionMatcher, WrappingMatcher
from whoosh.query import And, DateRange, Every, Not, NullQuery, Phrase, Prefix, Query, Term, Wildcard
from whoosh.query.compound import DefaultOr
from whoosh.util import make_binary_tree

from . import query as q
from .analysis import normalize_text
from .errors import QueryError
from .store import ATTACHMENT_SEPARATOR, SearchIndex

#: Fields a bare word is looked up in.
DEFAULT_FIELDS = ("subject", "body", "quoted", "sender", "recipients", "attachment", "attachment_text")
#: Characters around a match in a snippet.
SNIPPET_CHARS = 240
MARK_OPEN, MARK_CLOSE = "**", "**"
#: Stored fields a snippet is taken from, in order of preference.
SNIPPET_FIELDS = ("body", "subject", "attachment_text", "quoted", "attachment")


@dataclass(frozen=True)
class SearchRequest:
    """What to look for. Empty ``text`` with filters lists the filtered messages.

    ``text`` is in the query language of :mod:`index.query`. Its ``customer:`` filters are
    resolved by the caller (the names live in the database): ``customers`` maps each value
    to the customer ids it names.
    """

    text: str = ""
    customer_ids: tuple[int, ...] | None = None  # None: no customer filter; (): matches nothing
    from_address: str | None = None
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive
    limit: int = 20
    sort: str = "date"  # "date" (newest first) or "relevance"
    customers: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """One matching message. ``matched_in`` names where the snippet comes from ("body",
    "subject", "attachment", "quoted", "filename"); ``attachments`` the attachments whose
    text or file name matched (empty when only the mail itself did)."""

    id: str  # raw SHA-256
    score: float
    date: datetime | None
    snippet: str
    matched_in: str = ""
    attachments: tuple[str, ...] = ()
    is_quote: bool = False
    quote_files: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()


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


# --- the query language compiled to Whoosh queries -----------------------------------------


class Or(DefaultOr):
    """Whoosh's Or, matched as a plain union of the terms a segment holds.

    Whoosh's own Or, on a segment of under 5,000 documents (every segment of a small archive,
    the newest ones of a big one), preloads its matches into a 2,048-slot array built and
    cleared slot by slot in Python: per segment and per Or, a few times the cost of the whole
    match. The union it uses for bigger segments first weighs each part by its document
    frequency, one more term-table lookup per part and segment. This one skips both and leaves
    out the parts that match nothing in the segment (a word is in one or two of the seven
    default fields): the same documents, with the same scores (summed in another order).
    """

    def _matcher(self, subs, searcher, context):
        matchers = [m for m in (q.matcher(searcher, context) for q in subs) if m.is_active()]
        if not matchers:
            return NullMatcher()
        matcher = make_binary_tree(UnionMatcher, matchers)
        return WrappingMatcher(matcher, self.boost) if self.boost != 1.0 else matcher


_NOTHING = Term("id", "\0none")  # matches no document


def _analyzed(schema, fieldname: str, text: str) -> list[str]:
    analyzer = schema[fieldname].analyzer
    return [t.text for t in analyzer(text, mode="query")]


def _text_query(schema, fieldname: str, text: str, *, is_prefix: bool = False) -> Query | None:
    """``text`` in one text field: a term, a phrase of its tokens (CJK bigrams, "price list",
    the parts of an address) or a prefix."""
    words = _analyzed(schema, fieldname, text)
    if not words:
        return None
    if is_prefix and len(words) == 1:
        return Prefix(fieldname, words[0])
    if len(words) == 1:
        return Term(fieldname, words[0])
    return Phrase(fieldname, words)


def _any_field(schema, fields: Iterable[str], text: str, is_prefix: bool = False) -> Query:
    parts = [p for f in fields if (p := _text_query(schema, f, text, is_prefix=is_prefix)) is not None]
    if not parts:
        return NullQuery
    return parts[0] if len(parts) == 1 else Or(parts)


def _domain_query(fieldname: str, domain: str, *, is_address_field: bool) -> Query:
    """The domain or any subdomain of it."""
    domain = domain.lower().lstrip("@")
    if is_address_field:
        return Or([Wildcard(fieldname, "*@" + domain), Wildcard(fieldname, "*." + domain)])
    return Or([Term(fieldname, domain), Wildcard(fieldname, "*." + domain)])


_PEOPLE = {"from": ("from_addr", "sender"), "to": ("to_addr", "to"), "cc": ("cc_addr", "cc")}
_FLAGS = {"has": "flag", "is": "flag", "lang": "lang"}


def _filter_query(schema, node: q.FilterNode, customers: Mapping[str, tuple[int, ...]]) -> Query:
    name, value = node.name, node.value
    if node.range is not None:
        return DateRange("date", node.range.start, node.range.end, endexcl=True)
    if name in _PEOPLE:
        address_field, text_field = _PEOPLE[name]
        lowered = value.lower()
        if not node.is_phrase and "@" in lowered.strip("@"):
            return (Prefix if node.is_prefix else Term)(address_field, lowered)
        if not node.is_phrase and "." in lowered and " " not in lowered:
            return _domain_query(address_field, lowered, is_address_field=True)
        return _text_query(schema, text_field, value, is_prefix=node.is_prefix) or NullQuery
    if name == "customer":
        if value not in customers:
            raise QueryError(f"customer:{value} could not be looked up")
        ids = customers[value]
        if not ids:
            return _NOTHING
        return Or([Term("customer", str(i)) for i in ids]) if len(ids) > 1 else Term("customer", str(ids[0]))
    if name == "domain":
        return _domain_query("domain", value, is_address_field=False)
    if name == "subject":
        return _text_query(schema, "subject", value, is_prefix=node.is_prefix) or NullQuery
    if name == "filename":
        return _text_query(schema, "attachment", value.lstrip("*"), is_prefix=node.is_prefix) or NullQuery
    if name in ("folder", "account"):
        lowered = value.lower().replace(",", " ")
        return Prefix(name, lowered) if node.is_prefix else Term(name, lowered)
    if name in _FLAGS:
        return Term(_FLAGS[name], value)
    raise QueryError(f"{name}: is not a filter")  # parse_query lets only known names through


def _compile(schema, node: q.Node, customers: Mapping[str, tuple[int, ...]]) -> Query:
    if isinstance(node, q.TextNode):
        return _any_field(schema, DEFAULT_FIELDS, node.text, node.is_prefix)
    if isinstance(node, q.FilterNode):
        return _filter_query(schema, node, customers)
    if isinstance(node, q.NotNode):
        return Not(_compile(schema, node.child, customers))
    children = [_compile(schema, child, customers) for child in node.children]
    if isinstance(node, q.AndNode):
        positive = [c for c in children if not isinstance(c, Not)]
        # A query of NOTs only: everything but what they name.
        return And(children if positive else [Every(), *children])
    return Or([And([Every(), c]) if isinstance(c, Not) else c for c in children])


def _parse(schema, text: str, customers: Mapping[str, tuple[int, ...]]) -> tuple[Query, bool]:
    """The Whoosh query for ``text`` and whether it holds free text (else: filters only)."""
    node = q.parse_query(text)
    if node is None:
        return Every(), False
    query = _compile(schema, node, customers)
    if isinstance(node, q.NotNode):
        query = And([Every(), query])
    return query, _has_text(node)


def _has_text(node: q.Node) -> bool:
    if isinstance(node, q.TextNode):
        return True
    if isinstance(node, q.NotNode):
        return False
    if isinstance(node, q.AndNode | q.OrNode):
        return any(_has_text(c) for c in node.children)
    return node.name in ("subject", "filename")


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

    Raises QueryError for a query that cannot be parsed (naming the column of the problem),
    SearchIndexError when the index cannot be opened or predates the current schema.
    """
    if request.limit < 1:
        raise QueryError("the result limit must be at least 1")
    if request.sort not in ("date", "relevance"):
        raise QueryError(f"cannot sort by {request.sort!r}; use date or relevance")
    ix = index.whoosh
    query, has_text = _parse(ix.schema, request.text, request.customers)
    filter_query = _filters(request)
    with _searcher(index, ix) as searcher:
        kwargs = {"limit": request.limit, "filter": filter_query}
        if request.sort == "date" or not has_text:
            # Newest first needs no relevance: skipping BM25F halves the time of a broad query.
            kwargs.update(sortedby="date", reverse=True, scored=False)
        results = searcher.search(query, **kwargs)
        results.fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=80)
        results.formatter = _MarkFormatter()
        leaves = _query_leaves(query)
        hits = []
        for hit in results:
            snippet, matched_in, attachments = _snippet(hit, leaves)
            hits.append(Hit(
                id=hit["id"],
                score=float(hit.score or 0.0),
                date=hit.get("date"),
                snippet=snippet,
                matched_in=matched_in,
                attachments=attachments,
                is_quote=bool(hit.get("quote_terms")),
                quote_files=tuple(hit.get("quote_files") or ()),
                amounts=tuple(hit.get("amounts") or ()),
            ))
        return SearchResult(hits=tuple(hits), total=len(results))


# One open searcher per SearchIndex, kept between searches: opening one reads every segment's
# term table header (about a third of a warm search's time on a 10-segment index), and a kept
# searcher also keeps its caches (term statistics, the date column for sorting).
_searchers: weakref.WeakKeyDictionary[SearchIndex, tuple[object, object, weakref.finalize]] = \
    weakref.WeakKeyDictionary()
_searchers_lock = threading.Lock()


@contextmanager
def _searcher(index: SearchIndex, ix) -> Iterator:
    """The kept searcher of ``index``, reopened when the index changed (a new Whoosh index
    object after our own writes or a rebuild, a new generation after another process's
    commit). A fresh searcher, not ``refresh()``: Whoosh's refresh reuses segment readers by
    segment id and would keep their old deletions. A thread that finds the kept searcher busy
    (Whoosh searchers share file positions) gets one of its own for the call."""
    if not _searchers_lock.acquire(blocking=False):
        with ix.searcher() as searcher:
            yield searcher
        return
    try:
        kept = _searchers.get(index)
        searcher = None
        if kept is not None:
            kept_ix, kept_searcher, finalizer = kept
            try:
                if kept_ix is ix and kept_searcher.up_to_date():
                    searcher = kept_searcher
            except OSError:  # the index directory went away: open afresh, which says how it fails
                pass
            if searcher is None:
                del _searchers[index]
                finalizer()  # closes the stale searcher's files
        if searcher is None:
            searcher = ix.searcher()
            _searchers[index] = (ix, searcher, weakref.finalize(index, searcher.close))
        yield searcher
    finally:
        _searchers_lock.release()


#: Characters of a long body around its first match that the highlighter re-reads.
_WINDOW = 2000


def _query_leaves(query: Query) -> dict[str, list[tuple[str, ...]]]:
    """Per snippet field, the words of each positive leaf of the query (a prefix up to its
    wildcard); words under a NOT are not highlighted."""
    leaves: dict[str, list[tuple[str, ...]]] = {}

    def walk(node: Query) -> None:
        if isinstance(node, Not):
            return
        if node.is_leaf():
            fieldname = getattr(node, "fieldname", None)
            if fieldname not in SNIPPET_FIELDS:
                return
            if isinstance(node, Phrase):
                words = tuple(node.words)
            else:
                text = getattr(node, "text", None)
                words = (re.split(r"[*?]", text)[0],) if isinstance(text, str) else ()
            words = tuple(w for w in words if w)
            if words:
                leaves.setdefault(fieldname, []).append(words)
            return
        for child in node.children():
            walk(child)

    walk(query)
    return leaves


def _contains(folded: str, leaves: list[tuple[str, ...]]) -> bool:
    """Whether ``folded`` (normalized text) holds every word of some leaf: a cheap check of
    which attachment matched, without re-tokenizing them all."""
    return any(all(word in folded for word in words) for words in leaves)


def _window(text: str, words: Iterable[str], positions: str | None = None) -> str:
    """A slice of ``text`` around the first place a query word occurs (highlighting re-tokenizes
    what it is given, so a whole long body would cost far more than the search itself).
    ``positions``: what :func:`_fold_to_match` gives for ``text``, when the caller has it."""
    if len(text) <= _WINDOW:
        return text
    if positions is None:
        positions, _ = _fold_to_match(text, [])
    found = [pos for pos in (positions.find(w) for w in words) if pos >= 0]
    start = max(0, min(found) - _WINDOW // 2) if found else 0
    return text[start:start + _WINDOW]


#: Characters of a long text folded at a time while looking for its first match.
_FOLD_STEP = 4000


def _fold_to_match(text: str, leaves: list[tuple[str, ...]], step: int = _FOLD_STEP) -> tuple[str, bool]:
    """(positions, whether some leaf has all its words in ``text``), folding no more of a long
    text than it takes: a quoted thread of 30,000 characters whose first lines match is folded
    up to there. Folding is cut before line breaks, where the parts folded apart give the same
    text as the whole. ``positions`` is text whose offsets are ``text``'s, for :func:`_window`:
    the folded part that holds a leaf's words, else the whole text folded (lowered instead when
    folding changed its length)."""
    parts: list[str] = []
    start = 0
    while start + step < len(text):
        cut = text.find("\n", start + step)
        if cut < 0:
            break
        part = normalize_text(text[start:cut])
        if len(part) != cut - start:  # offsets no longer the text's: fold the rest as one
            break
        parts.append(part)
        start = cut
        done = "".join(parts)
        if _contains(done, leaves):
            return done, True
    parts.append(normalize_text(text[start:]))
    folded = "".join(parts)
    return (folded if len(folded) == len(text) else text.lower()), _contains(folded, leaves)


#: Context the fragmenter keeps before a match and after the last one (in token characters).
_SURROUND = 80
#: Characters no token holds or joins across: text cut at one tokenizes the same on each side.
_CUT = frozenset(" \t\r\n,.;:!?()[]<>{}\"'|/=-，。、；：！？（）")
_TOKEN_CHARS_AFTER = re.compile(r"(?:[\W_]*[^\W_]){%d}" % (2 * _SURROUND + 20))
_CUT_SEARCH = 200


def _trim(text: str, words: Iterable[str]) -> str:
    """The part of ``text`` that decides its snippet: the highlighter re-tokenizes all it is
    given, but its fragments only reach ``_SURROUND`` characters before a match and end at most
    ``2 * _SURROUND`` token characters after the last one. Cut where no token spans the cut, the
    same fragments come out of the slice (their offsets shift, their text does not)."""
    folded = normalize_text(text)
    if len(folded) != len(text):  # folding changed lengths: its offsets are not the text's
        return text
    words = [w for w in words if w in folded]
    if not words:
        return text
    start = min(folded.find(w) for w in words) - 2 * _SURROUND
    last = max(folded.rfind(w) + len(w) for w in words)
    after = _TOKEN_CHARS_AFTER.match(text, last)
    end = after.end() if after else len(text)
    if start > 0:
        start = next((i for i in range(start, max(start - _CUT_SEARCH, -1), -1) if text[i] in _CUT), 0)
    if end < len(text):
        end = next((i for i in range(end, min(end + _CUT_SEARCH, len(text))) if text[i] in _CUT), len(text))
    return text[max(start, 0):end]


_LABELS = {"body": "body", "subject": "subject", "attachment_text": "attachment", "quoted": "quoted",
           "attachment": "filename"}


def _snippet(hit, leaves: dict[str, list[tuple[str, ...]]]) -> tuple[str, str, tuple[str, ...]]:
    """(snippet, where it comes from, attachments that matched)."""
    texts = hit.get("attachment_text") or ""
    names = hit.get("attachment_text_names") or []
    segments = list(zip(names, texts.split(ATTACHMENT_SEPARATOR), strict=False)) if texts else []
    matched: list[str] = []
    if leaves.get("attachment_text"):
        matched = [name for name, text in segments if _fold_to_match(text, leaves["attachment_text"])[1]]
    if leaves.get("attachment"):
        for name in (hit.get("attachment") or "").split("\n"):
            if name and name not in matched and _contains(normalize_text(name), leaves["attachment"]):
                matched.append(name)
    for name in SNIPPET_FIELDS:
        field_leaves = leaves.get(name)
        if not field_leaves:
            continue
        words = [w for leaf in field_leaves for w in leaf]
        if name == "attachment_text":
            candidates = [(n, t) for n, t in segments if n in matched] or segments
        else:
            candidates = [("", hit.get(name) or "")]
        for _, text in candidates:
            if not text:
                continue
            # Highlighting re-tokenizes; a cheap look for the words first skips fields without them.
            positions = None
            if name != "attachment_text" or len(text) > _WINDOW:
                positions, found = _fold_to_match(text, field_leaves)
                if name != "attachment_text" and not found:
                    continue
            marked = hit.highlights(name, text=_trim(_window(text, words, positions), words), minscore=1)
            if marked:
                return marked, _LABELS[name], tuple(matched)
    body = " ".join((hit.get("body") or "")[:SNIPPET_CHARS * 4].split())
    return body[:SNIPPET_CHARS] + ("…" if len(body) > SNIPPET_CHARS else ""), "", tuple(matched)


def all_ids(index: SearchIndex) -> Iterable[str]:
    """Every document id in the index (for consistency checks)."""
    if not index.exists:
        return []
    with index.whoosh.searcher() as searcher:
        return [fields["id"] for fields in searcher.all_stored_fields()]
