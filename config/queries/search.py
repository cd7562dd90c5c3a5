"""Search result pages: matching messages with the rows a reader sees, conversations, and quotes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from index import Hit, SearchRequest, filter_values, parse_query, search
from ingest import SHORT_ID_LENGTH, AttachmentRow, Message, MessageCopy, ParticipantRow, find_thread
from linker import Customer, customer_names, customers_by_message

from ..archive import Archive, count_pending
from .records import Record, field
from .scope import Scope, find_visible_customer, search_scope, visible_messages

#: Hits whose rows are read with one query per table (bounded IN lists, for any limit).
HIT_PAGE = 500
#: Hits fetched per conversation asked for, before folding them into conversations.
HITS_PER_THREAD = 5
#: A result row is read at a glance: a subject or name longer than this (a 1 MB subject exists) is
#: cut, and at most this many recipients and attachments are listed; `dossier show` has them all.
MAX_SHOWN = 300
MAX_LISTED = 50


def cut(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with "…"."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class HitRow(Record):
    """One matching message as a result page shows it."""

    id: str
    message_id: str | None
    date: datetime | None
    sender: str = field("from")
    sender_name: str = field("from_name")
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    subject: str = ""
    customers: tuple[str, ...] = ()
    snippet: str = ""  # the best fragment, matches marked **like this**
    matched_in: str = ""  # body, subject, attachment, quoted or filename
    matched_attachments: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    is_quote: bool = False
    amounts: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()  # "account:folder" of every copy
    path: str = ""  # the raw message (gzip; `zcat PATH` unless encrypted)
    sha256: str = ""
    score: float = 0.0
    quote_files: tuple[str, ...] = field(None, default=())  # attachments that look like quotations


@dataclass(frozen=True)
class SearchPage(Record):
    """A page of hits. ``total`` counts every match before the limit; ``missing_from_index`` is
    how many archived messages the index lacks, so that an empty page can say it may be incomplete
    (counted only for an empty page, else 0). ``dossier search --json`` prints ``hits``."""

    total: int
    missing_from_index: int
    hits: tuple[HitRow, ...]


@dataclass(frozen=True)
class ThreadHit(Record):
    """A conversation with matching messages, as ``dossier search --threads`` shows it."""

    thread: str  # its first message's id
    subject: str
    messages: int
    first: datetime | None
    last: datetime | None
    people: tuple[str, ...]  # every sender
    customers: tuple[str, ...]  # of its best hit
    hits: tuple[str, ...]  # ids of its matching messages, best first
    snippet: str


@dataclass(frozen=True)
class ThreadPage(Record):
    """Conversations in the order of each one's best hit (``--threads --json`` prints ``threads``)."""

    total: int
    missing_from_index: int
    threads: tuple[ThreadHit, ...]


def _request(session: Session, text: str, customer: str | None, limit: int, scope: Scope | None,
             **filters) -> SearchRequest:
    customer_ids = (find_visible_customer(session, customer, scope).id,) if customer else None
    names = filter_values(parse_query(text), "customer")
    customers = {name: (find_visible_customer(session, name, scope).id,) for name in names}
    return SearchRequest(text=text, customer_ids=customer_ids, limit=limit, customers=customers,
                         within=search_scope(session, scope), **filters)


def search_messages(archive: Archive, text: str = "", *, customer: str | None = None,
                    from_address: str | None = None, since: datetime | None = None,
                    until: datetime | None = None, limit: int = 20, sort: str = "date", offset: int = 0,
                    scope: Scope | None = None) -> SearchPage:
    """The ``limit`` messages after the first ``offset`` matching ``text`` (the query language of
    ``index.query``) and the filters: a customer's name, a sender's address or domain, a date range
    (naive UTC; since inclusive, until exclusive), within ``scope``. Sorted newest first, or by
    ``sort="relevance"``.

    Raises CustomerNotFoundError for an unknown customer, QueryError for a query that cannot be read.
    """
    with archive.sessions() as session:
        request = _request(session, text, customer, limit, scope, from_address=from_address, since=since,
                           until=until, sort=sort, offset=offset)
        result = search(archive.index, request)
        hits = hit_rows(archive, session, result.hits)
        missing = 0 if hits else missing_from_index(archive, session)
    return SearchPage(total=result.total, missing_from_index=missing, hits=tuple(hits))


def search_threads(archive: Archive, text: str = "", *, customer: str | None = None,
                   from_address: str | None = None, since: datetime | None = None,
                   until: datetime | None = None, limit: int = 20, sort: str = "date",
                   scope: Scope | None = None) -> ThreadPage:
    """Like :func:`search_messages`, with the hits folded into up to ``limit`` conversations."""
    with archive.sessions() as session:
        request = _request(session, text, customer, limit * HITS_PER_THREAD, scope, from_address=from_address,
                           since=since, until=until, sort=sort)
        result = search(archive.index, request)
        hits = hit_rows(archive, session, result.hits)
        threads = _fold_threads(session, hits, limit, scope)
        missing = 0 if hits else missing_from_index(archive, session)
    return ThreadPage(total=result.total, missing_from_index=missing, threads=threads)


def missing_from_index(archive: Archive, session: Session) -> int:
    """Archived messages the search index lacks: its documents fall short of the messages marked
    indexed (a deleted or damaged index), or messages wait to be indexed (an import running or killed)."""
    indexed = session.scalar(
        select(func.count()).select_from(Message).where(Message.status == "ok", Message.indexed_at.is_not(None))
    ) or 0
    return max(indexed - archive.index.doc_count(), 0) + count_pending(session)


def _fold_threads(session: Session, hits: Sequence[HitRow], limit: int,
                  scope: Scope | None) -> tuple[ThreadHit, ...]:
    threads: list[dict] = []
    seen: dict[int, dict] = {}
    for hit in hits:
        message = session.scalar(select(Message).where(Message.sha256 == hit.sha256))
        if message.id in seen:
            seen[message.id]["hits"].append(hit.id)
            continue
        if len(threads) >= limit:
            continue
        members = find_thread(session, message)
        if scope is not None:
            visible = visible_messages(session, scope, [m.id for m in members])
            members = [m for m in members if m.id in visible]
        row = {
            "thread": members[0].short_id,
            "subject": cut(members[0].subject),
            "messages": len(members),
            "first": members[0].date,
            "last": members[-1].date,
            "people": tuple(sorted({m.from_email for m in members if m.from_email})),
            "customers": hit.customers,
            "hits": [hit.id],
            "snippet": hit.snippet,
        }
        threads.append(row)
        for m in members:
            seen[m.id] = row
    return tuple(ThreadHit(**{**row, "hits": tuple(row["hits"])}) for row in threads)


def hit_rows(archive: Archive, session: Session, hits: Sequence[Hit]) -> list[HitRow]:
    """The rows a page shows for ``hits``, in their order; a hit whose message is no longer in
    the database (`dossier reindex` repairs that) is left out."""
    return [row for start in range(0, len(hits), HIT_PAGE)
            for row in _hit_page_rows(archive, session, hits[start:start + HIT_PAGE])]


def _hit_page_rows(archive: Archive, session: Session, hits: Sequence[Hit]) -> list[HitRow]:
    shas = [h.id for h in hits]
    # The page's columns in one query per table, not three per hit; plain rows, not ORM objects
    # with their collections (loading those took longer than the search itself).
    messages = {m.sha256: m for m in session.execute(
        select(Message.id, Message.sha256, Message.header_message_id, Message.date, Message.from_email,
               Message.from_name, Message.subject).where(Message.sha256.in_(shas))
    )}
    ids = [m.id for m in messages.values()]
    people: dict[tuple[int, str], list[str]] = {}
    for message_id, role, email in session.execute(
        select(ParticipantRow.message_id, ParticipantRow.role, ParticipantRow.email)
        .where(ParticipantRow.message_id.in_(ids), ParticipantRow.role.in_(("to", "cc"))).order_by(ParticipantRow.id)
    ):
        people.setdefault((message_id, role), []).append(email)
    files: dict[int, list[str]] = {}
    for message_id, filename in session.execute(
        select(AttachmentRow.message_id, AttachmentRow.filename)
        .where(AttachmentRow.message_id.in_(ids)).order_by(AttachmentRow.id)
    ):
        files.setdefault(message_id, []).append(filename)
    folders: dict[int, list[str]] = {}
    for message_id, account, folder in session.execute(
        select(MessageCopy.message_id, MessageCopy.account, MessageCopy.folder)
        .where(MessageCopy.message_id.in_(ids)).order_by(MessageCopy.id)
    ):
        folders.setdefault(message_id, []).append(f"{account}:{folder}")
    links = customers_by_message(session, ids)
    names = customer_names(session, [c for linked in links.values() for c in linked])
    rows = []
    for hit in hits:
        m = messages.get(hit.id)
        if m is None:
            continue
        rows.append(HitRow(
            id=m.sha256[:SHORT_ID_LENGTH],
            message_id=m.header_message_id,
            date=m.date,
            sender=m.from_email,
            sender_name=cut(m.from_name),
            to=tuple(people.get((m.id, "to"), ())[:MAX_LISTED]),
            cc=tuple(people.get((m.id, "cc"), ())[:MAX_LISTED]),
            subject=cut(m.subject),
            customers=tuple(names[c] for c in links.get(m.id, []) if c in names),
            snippet=hit.snippet,
            matched_in=hit.matched_in,
            matched_attachments=tuple(hit.attachments),
            attachments=tuple(files.get(m.id, ())[:MAX_LISTED]),
            is_quote=hit.is_quote,
            amounts=tuple(hit.amounts),
            folders=tuple(folders.get(m.id, ())),
            path=str(archive.raw.path_for(m.sha256)),
            sha256=m.sha256,
            score=round(hit.score, 3),
            quote_files=tuple(hit.quote_files),
        ))
    return rows


@dataclass(frozen=True)
class QuoteRow(Record):
    id: str
    date: datetime | None
    customers: tuple[str, ...]
    sender: str = field("from")
    subject: str = ""
    files: tuple[str, ...] = ()  # attachments that look like quotations
    amounts: tuple[str, ...] = ()  # amounts and trade terms found ("USD 12,500", "FOB Ningbo")


@dataclass(frozen=True)
class QuotePage(Record):
    """Quotes newest first; ``total`` counts every quote before the limit (``--json`` prints ``quotes``)."""

    total: int
    quotes: tuple[QuoteRow, ...]


def list_quotes(archive: Archive, *, customer: str | None = None, since: datetime | None = None,
                until: datetime | None = None, country: str | None = None, limit: int = 50, offset: int = 0,
                scope: Scope | None = None) -> QuotePage:
    """Quotes sent or received (``is:quote``), newest first, of one customer or all (or the
    customers of one ``country``), on or after ``since`` and before ``until`` (naive UTC), within
    ``scope``. Raises CustomerNotFoundError for an unknown customer."""
    with archive.sessions() as session:
        customer_ids = (find_visible_customer(session, customer, scope).id,) if customer else None
        if country:
            wanted = country.strip().casefold()
            in_country = {cid for cid, c in session.execute(select(Customer.id, Customer.country))
                          if (c or "").strip().casefold() == wanted}
            customer_ids = tuple(sorted(in_country if customer_ids is None else in_country & set(customer_ids)))
        result = search(archive.index, SearchRequest(
            text="is:quote", customer_ids=customer_ids, since=since, until=until, limit=limit, offset=offset,
            sort="date", within=search_scope(session, scope),
        ))
        hits = hit_rows(archive, session, result.hits)
    return QuotePage(total=result.total, quotes=tuple(
        QuoteRow(id=h.id, date=h.date, customers=h.customers, sender=h.sender, subject=h.subject,
                 files=h.quote_files, amounts=h.amounts)
        for h in hits
    ))
