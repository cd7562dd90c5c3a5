"""Searching an archive's index, whatever its engine: the request, the page of hits, snippets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from . import plan
from .engine import StoredHit
from .errors import QueryError
from .snippets import make_snippet, query_leaves
from .store import SearchIndex

#: Relevance ranking, the same on every engine: the engine scores the words (subject over new text
#: over quoted text, each field's weight in index.fields; a word over its other forms), then its
#: first RERANK_WINDOW hits are ordered by that score (relative to the best) times what a
#: salesperson looks for: a customer's own mail over list and robot mail, and, by a nudge of at
#: most RECENCY, the newer over the older, which decides between near-equal hits (newsletters of one
#: sender, a thread's replies). Hits past the window keep the engine's order, so pages stay disjoint.
RERANK_WINDOW = 100
BULK_FACTOR = 0.6
CUSTOMER_FACTOR = 1.2
RECENCY = 0.05


@dataclass(frozen=True)
class SearchRequest:
    """What to look for. Empty ``text`` with filters lists the filtered messages.

    ``text`` is in the query language of :mod:`index.query`. Its ``customer:`` filters are
    resolved by the caller (the names live in the database): ``customers`` maps each value
    to the customer ids it names. ``offset`` skips that many hits (result pages after the first).
    ``within`` limits every answer to what one person may read: the mail of those customer ids
    and of those accounts (None: everything).
    """

    text: str = ""
    customer_ids: tuple[int, ...] | None = None  # None: no customer filter; (): matches nothing
    from_address: str | None = None
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive
    limit: int = 20
    sort: str = "date"  # "date" (newest first) or "relevance"
    customers: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    offset: int = 0
    within: tuple[tuple[int, ...], tuple[str, ...]] | None = None


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
    total: int  # matching documents, before offset and limit


def search(index: SearchIndex, request: SearchRequest) -> SearchResult:
    """Run ``request``; hits newest first (or by relevance) with highlighted snippets.

    Raises QueryError for a query that cannot be parsed (naming the column of the problem),
    SearchIndexError when the index cannot be opened or predates the current schema.
    """
    if request.limit < 1:
        raise QueryError("the result limit must be at least 1")
    if request.offset < 0:
        raise QueryError("the result offset cannot be negative")
    if request.sort not in ("date", "relevance"):
        raise QueryError(f"cannot sort by {request.sort!r}; use date or relevance")
    engine = index.open()  # raises for an index this Dossier cannot read, before the query is parsed
    query, has_text = plan.lower(request.text, request.customers)
    restrict = plan.request_filter(request.customer_ids, request.from_address, request.since, request.until,
                                   within=request.within)
    # Newest first needs no relevance (and skipping it halves the time of a broad query).
    scored = request.sort == "relevance" and has_text
    if scored:
        page = engine.search(query, restrict, scored=True, limit=max(RERANK_WINDOW, request.offset + request.limit))
        stored_hits = rerank(page.hits)[request.offset:request.offset + request.limit]
    else:
        page = engine.search(query, restrict, scored=False, limit=request.limit, offset=request.offset)
        stored_hits = list(page.hits)
    leaves = query_leaves(query)
    hits = []
    for stored in stored_hits:
        snippet, matched_in, attachments = make_snippet(stored.fields, leaves)
        hits.append(Hit(
            id=stored.id,
            score=stored.score,
            date=stored.date,
            snippet=snippet,
            matched_in=matched_in,
            attachments=attachments,
            is_quote=bool(stored.fields.get("quote_terms")),
            quote_files=tuple(stored.fields.get("quote_files") or ()),
            amounts=tuple(stored.fields.get("amounts") or ()),
        ))
    return SearchResult(hits=tuple(hits), total=page.total)


def rerank(hits: Sequence[StoredHit]) -> list[StoredHit]:
    """``hits`` (by the engine's score) in relevance order: the first :data:`RERANK_WINDOW` by
    their score relative to the best, weighed by their traits and date, each with that score; the
    rest as they came."""
    head = list(hits[:RERANK_WINDOW])
    if not head:
        return list(hits)
    best = max(h.score for h in head) or 1.0
    dates = [h.date for h in head if h.date is not None]
    oldest = min(dates) if dates else None
    span = ((max(dates) - oldest).total_seconds() if dates else 0.0) or 1.0

    def weight(hit: StoredHit) -> float:
        traits = hit.fields.get("traits") or ()
        factor = BULK_FACTOR if "bulk" in traits else CUSTOMER_FACTOR if "customer" in traits else 1.0
        age = (hit.date - oldest).total_seconds() / span if hit.date is not None and oldest is not None else 0.0
        return hit.score / best * factor * (1.0 + RECENCY * age)

    # Stable: hits equal in weight and date keep the engine's order.
    weighed = sorted(((weight(h), h.date or datetime.min, h) for h in head), key=lambda item: item[:2], reverse=True)
    return [replace(h, score=w) for w, _, h in weighed] + list(hits[RERANK_WINDOW:])
