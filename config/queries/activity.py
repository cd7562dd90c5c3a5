"""Activity over time: a customer's mail by month and its conversations, and the markets by country."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ingest import Message, utcnow
from linker import Customer, Link, MessageFact, customer_activity, load_facts

from ..archive import Archive
from .customers import CustomerDossierView, dossier_view, stages
from .records import Listing, Record
from .scope import Scope, find_visible_customer

#: Months a market's chart covers, the current one last.
MARKET_MONTHS = 12
#: Months at most in a customer's chart (the latest ones).
CUSTOMER_MONTHS = 36


@dataclass(frozen=True)
class MonthCount(Record):
    month: str  # YYYY-MM
    received: int  # from the customer
    sent: int  # from the team


@dataclass(frozen=True)
class ConversationRow(Record):
    """One conversation with a customer: its first message's id, subject and span."""

    id: str
    subject: str
    first: datetime
    last: datetime
    messages: int
    is_waiting: bool  # its last message came from the customer


@dataclass(frozen=True)
class CustomerTimeline(Record):
    """A customer's mail by month (oldest first) and its conversations (latest activity first)."""

    name: str
    months: tuple[MonthCount, ...]
    conversations: tuple[ConversationRow, ...]


def _month(date: datetime) -> str:
    return f"{date.year:04d}-{date.month:02d}"


def _months_back(now: datetime, count: int) -> list[str]:
    year, month = now.year, now.month
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def customer_timeline(archive: Archive, name: str, *, scope: Scope | None = None,
                      now: datetime | None = None) -> CustomerTimeline:
    """The mail of the customer ``name`` names, by month (from its first message to ``now``, at
    most CUSTOMER_MONTHS), and its conversations. Raises CustomerNotFoundError."""
    now = now or utcnow()
    with archive.sessions() as session:
        customer = find_visible_customer(session, name, scope)
        return timeline_of(customer.name, load_facts(session, customer.id, archive.directory(session)), now)


def timeline_of(name: str, facts: Sequence[MessageFact], now: datetime) -> CustomerTimeline:
    """The timeline of a customer from the facts of its mail (``linker.load_facts``). Pure."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    threads: dict[str, list] = defaultdict(list)
    for f in facts:
        counts[_month(f.date)][1 if f.is_outgoing else 0] += 1
        threads[f.thread].append(f)
    months: list[MonthCount] = []
    if facts:
        first = min(f.date for f in facts)
        span = (now.year - first.year) * 12 + now.month - first.month + 1
        months = [MonthCount(m, *counts.get(m, (0, 0))) for m in _months_back(now, min(max(span, 1), CUSTOMER_MONTHS))]
    conversations = []
    for items in threads.values():
        items.sort(key=lambda f: (f.date, f.id))
        conversations.append(ConversationRow(items[0].short_id, items[0].subject, items[0].date, items[-1].date,
                                             len(items), not items[-1].is_outgoing))
    conversations.sort(key=lambda c: (c.last, c.id), reverse=True)
    return CustomerTimeline(name, tuple(months), tuple(conversations))


@dataclass(frozen=True)
class CustomerOverview(Record):
    """What a customer's page shows: its dossier and its timeline."""

    dossier: CustomerDossierView
    timeline: CustomerTimeline


def customer_overview(archive: Archive, name: str, *, limit: int = 20, scope: Scope | None = None,
                      now: datetime | None = None) -> CustomerOverview:
    """The dossier (``customer_dossier``) and the timeline (``customer_timeline``) of the customer
    ``name`` names, read together (its mail once). Raises CustomerNotFoundError."""
    now = now or utcnow()
    with archive.sessions() as session:
        customer = find_visible_customer(session, name, scope)
        directory = archive.directory(session)
        facts = load_facts(session, customer.id, directory)
        return CustomerOverview(dossier_view(archive, session, customer, directory, facts, now=now, limit=limit),
                                timeline_of(customer.name, facts, now))


@dataclass(frozen=True)
class MarketRow(Record):
    """One country: its customers by stage, its mail and quotes in the last 12 months."""

    country: str  # as the customer sheet writes it; "" for customers without one
    customers: int
    active: int  # new or active
    dormant: int
    lost: int
    prospects: int
    messages_12m: int
    quotes_12m: int
    last_contact: datetime | None
    months: tuple[int, ...]  # messages per month, the last MARKET_MONTHS months, oldest first


@dataclass(frozen=True)
class MarketList(Listing):
    markets: tuple[MarketRow, ...]


def list_markets(archive: Archive, *, scope: Scope | None = None, now: datetime | None = None) -> MarketList:
    """Per country (most mail in the last 12 months first): customers, stages, mail and quotes in
    the last 12 months with a count per month, and the last contact; only customers in ``scope``."""
    now = now or utcnow()
    labels = _months_back(now, MARKET_MONTHS)
    start = datetime(int(labels[0][:4]), int(labels[0][5:]), 1)
    with archive.sessions() as session:
        customers = {cid: (country or "").strip() for cid, country, owner in
                     session.execute(select(Customer.id, Customer.country, Customer.owner))
                     if scope is None or scope.names(owner)}
        stage_of = stages(archive, session, now)
        activity = customer_activity(session)
        recent = session.execute(
            select(Link.customer_id, Message.id, Message.date, Message.quote_term)
            .join(Message, Message.id == Link.message_id)
            .where(Message.status == "ok", Message.date >= start).distinct()
        ).all()
    by_country: dict[str, dict] = {}
    for cid, country in customers.items():
        entry = by_country.setdefault(country, {"customers": 0, "stages": defaultdict(int), "last": None,
                                                "messages": {}, "quotes": set()})
        entry["customers"] += 1
        entry["stages"][stage_of.get(cid, "prospect")] += 1
        last = activity[cid].last_contact if cid in activity else None
        if last is not None and (entry["last"] is None or last > entry["last"]):
            entry["last"] = last
    for cid, message_id, date, quote_term in recent:
        if cid not in customers:
            continue
        entry = by_country[customers[cid]]
        entry["messages"][message_id] = _month(date)
        if quote_term and date >= now - timedelta(days=365):
            entry["quotes"].add(message_id)
    rows = []
    for country, e in by_country.items():
        per_month = defaultdict(int)
        for month in e["messages"].values():
            per_month[month] += 1
        stage = e["stages"]
        rows.append(MarketRow(country, e["customers"], stage["new"] + stage["active"], stage["dormant"],
                              stage["lost"], stage["prospect"], len(e["messages"]), len(e["quotes"]), e["last"],
                              tuple(per_month[m] for m in labels)))
    rows.sort(key=lambda r: (-r.messages_12m, -r.customers, r.country.casefold()))
    return MarketList(tuple(rows))


