"""Customers as people read them: the list, a dossier, shared domains, senders with no customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ingest import Message, utcnow
from linker import (
    STAGES,
    Customer,
    CustomerActivity,
    DomainConflict,
    Duplicate,
    Link,
    Trail,
    UnlinkedGroup,
    build_dossier,
    customer_activity,
    customer_stage,
    customer_status,
    customer_trails,
    find_conflicts,
    find_unlinked,
    load_facts,
    stored_duplicates,
)

from ..archive import Archive
from .messages import MessageSummary, summarize
from .records import Listing, Record, days, field
from .scope import Scope, find_visible_customer, owned_customer_ids

if TYPE_CHECKING:
    from collections.abc import Sequence

    from linker import ContactSummary, Directory, MessageFact, QuoteSent


@dataclass(frozen=True)
class CustomerFacts(Record):
    """A customer's record and how much mail it has."""

    name: str
    domains: tuple[str, ...]
    emails: tuple[str, ...]
    country: str
    notes: str
    fields: dict[str, Any]  # custom fields from the customer sheet
    messages: int
    first_contact: datetime | None
    last_contact: datetime | None
    owner: str | None = field(omit_none=True, default=None)  # the rep in charge, where the sheet names one
    people: tuple[PersonOnFile, ...] | None = field(omit_none=True, default=None)  # only where there are some
    stage: str = "prospect"  # linker.STAGES: prospect, new, active, dormant, lost


@dataclass(frozen=True)
class PersonOnFile(Record):
    """A contact person or phone number the customer's sheet gave (they inform; addresses link)."""

    name: str
    phone: str


def _facts(customer: Customer, activity: CustomerActivity | None, stage: str) -> dict[str, Any]:
    return dict(
        name=customer.name,
        domains=tuple(d.domain for d in customer.domains),
        emails=tuple(c.email for c in customer.contacts),
        country=customer.country,
        notes=customer.notes,
        fields=dict(customer.fields or {}),
        messages=activity.messages if activity else 0,
        first_contact=activity.first_contact if activity else None,
        last_contact=activity.last_contact if activity else None,
        owner=customer.owner or None,
        people=tuple(PersonOnFile(p.name, p.phone) for p in customer.people) or None,
        stage=stage,
    )


def stages(archive: Archive, session: Session, now: datetime, customer_ids: set[int] | None = None) -> dict[int, str]:
    """The stage of every customer (of ``customer_ids``) as of ``now``; customers without mail are
    prospects, and left out."""
    trails = customer_trails(session, archive.directory(session), customer_ids)
    dormant = archive.settings.dormant_days
    return {cid: customer_stage(trail, now, dormant_days=dormant) for cid, trail in trails.items()}


@dataclass(frozen=True)
class CustomerRow(CustomerFacts):
    """A customer in the list; the wait only when the list was asked for waiting customers."""

    waiting_since: datetime | None = field(omit_none=True, default=None)  # its unanswered last message
    waiting_days: float | None = field(omit_none=True, default=None)


@dataclass(frozen=True)
class CustomerList(Listing):
    customers: tuple[CustomerRow, ...]


#: How ``list_customers`` can order its rows (besides by name).
CUSTOMER_ORDERS = ("name", "country", "owner", "stage", "messages", "first", "last")


def list_customers(archive: Archive, *, dormant: timedelta | None = None, waiting: bool = False,
                   stage: str | None = None, country: str | None = None, owner: str | None = None,
                   sort: str = "name", now: datetime | None = None, scope: Scope | None = None) -> CustomerList:
    """Customers by name (or by ``sort``: one of CUSTOMER_ORDERS, the counts and dates most first);
    with ``dormant``, only those with mail once but none for that long; with ``waiting``, only those
    whose last message is unanswered, longest wait first; with ``stage``, ``country`` or ``owner``
    (compared without case), only those; always only those in ``scope``."""
    now = now or utcnow()
    with archive.sessions() as session:
        # A rep's list reads the activity of their own customers only.
        wanted = owned_customer_ids(session, scope) if scope is not None else None
        activity = customer_activity(session, wanted)
        status = customer_status(session, archive.directory(session)) if waiting else {}
        stage_of = stages(archive, session, now, wanted)
        rows = []
        # With their domains, contacts and people in three queries, not three per customer.
        for c in session.scalars(select(Customer).order_by(Customer.name).options(
                selectinload(Customer.domains), selectinload(Customer.contacts), selectinload(Customer.people))):
            if scope is not None and not scope.names(c.owner):
                continue
            act = activity.get(c.id)
            if dormant is not None and (act is None or act.last_contact is None or now - act.last_contact < dormant):
                continue
            if stage and stage_of.get(c.id, "prospect") != stage:
                continue
            if country and (c.country or "").strip().casefold() != country.strip().casefold():
                continue
            if owner and (c.owner or "").casefold() != owner.strip().casefold():
                continue
            since = status[c.id].waiting_since if c.id in status else None
            if waiting and since is None:
                continue
            rows.append(CustomerRow(**_facts(c, act, stage_of.get(c.id, "prospect")), waiting_since=since,
                                    waiting_days=days((now - since).total_seconds()) if since else None))
    if waiting:
        rows.sort(key=lambda r: r.waiting_since)
    elif sort != "name":
        rows.sort(key=_ORDERS.get(sort, _ORDERS["name"]))
    return CustomerList(tuple(rows))


_ORDERS: dict[str, Any] = {
    "name": lambda r: r.name.casefold(),
    "country": lambda r: (r.country.casefold() or "\uffff", r.name.casefold()),
    "owner": lambda r: ((r.owner or "").casefold() or "\uffff", r.name.casefold()),
    "stage": lambda r: (STAGES.index(r.stage), r.name.casefold()),
    "messages": lambda r: (-r.messages, r.name.casefold()),
    "first": lambda r: (r.first_contact is None, r.first_contact or datetime.min, r.name.casefold()),
    "last": lambda r: (r.last_contact is None, [-n for n in r.last_contact.timetuple()[:6]] if r.last_contact else [],
                       r.name.casefold()),
}


@dataclass(frozen=True)
class OpenThreadRow(Record):
    id: str  # the customer's last message
    date: datetime
    subject: str
    sender: str = field("from")
    waiting_days: float = 0.0


@dataclass(frozen=True)
class CustomerDossierView(CustomerFacts):
    """The page to read before a call (``dossier customers show``)."""

    messages_in: int = 0
    messages_out: int = 0
    median_reply_hours: float | None = None  # the team's median time to answer
    contacts: tuple[ContactSummary, ...] = ()
    quotes: tuple[QuoteSent, ...] = ()  # sent, newest first
    open_threads: tuple[OpenThreadRow, ...] = ()  # waiting for our answer, longest first
    latest: tuple[MessageSummary, ...] = ()  # newest first


def customer_dossier(archive: Archive, name: str, *, limit: int = 10, now: datetime | None = None,
                     scope: Scope | None = None) -> CustomerDossierView:
    """The dossier of the customer ``name`` names (see ``linker.find_customer``) as of ``now``,
    with its ``limit`` latest messages. Raises CustomerNotFoundError (also for one outside ``scope``)."""
    now = now or utcnow()
    with archive.sessions() as session:
        customer = find_visible_customer(session, name, scope)
        directory = archive.directory(session)
        return dossier_view(archive, session, customer, directory, load_facts(session, customer.id, directory),
                            now=now, limit=limit)


def dossier_view(archive: Archive, session: Session, customer: Customer, directory: Directory,
                 facts: Sequence[MessageFact], *, now: datetime, limit: int) -> CustomerDossierView:
    """The dossier of ``customer`` from the ``facts`` of its mail (``linker.load_facts``)."""
    trail = Trail(min(f.date for f in facts), max(f.date for f in facts),
                  any(f.from_email and not f.is_outgoing for f in facts)) if facts else None
    record = _facts(customer, customer_activity(session, [customer.id]).get(customer.id),
                    customer_stage(trail, now, dormant_days=archive.settings.dormant_days))
    d = build_dossier(facts, emails=[c.email for c in customer.contacts], domains=[d.domain for d in customer.domains],
                      directory=directory, now=now)
    latest = session.scalars(
        select(Message)
        .where(Message.id.in_(select(Link.message_id).where(Link.customer_id == customer.id)))
        .order_by(Message.date.desc())
        .limit(limit)
    ).all()
    return CustomerDossierView(
        **record,
        messages_in=d.messages_in,
        messages_out=d.messages_out,
        median_reply_hours=None if d.median_reply is None else round(d.median_reply.total_seconds() / 3600, 1),
        contacts=d.contacts,
        quotes=d.quotes,
        open_threads=tuple(OpenThreadRow(t.id, t.date, t.subject, t.from_email,
                                         days(t.waiting.total_seconds())) for t in d.open_threads),
        latest=tuple(summarize(m) for m in latest),
    )


@dataclass(frozen=True)
class ConflictList(Listing):
    conflicts: tuple[DomainConflict, ...]


def list_conflicts(archive: Archive) -> ConflictList:
    """Domains and contact addresses several customers claim, most mail first."""
    with archive.sessions() as session:
        return ConflictList(tuple(find_conflicts(session)))


@dataclass(frozen=True)
class UnlinkedList(Listing):
    senders: tuple[UnlinkedGroup, ...]


def list_unlinked(archive: Archive, *, limit: int = 30, include_bulk: bool = False) -> UnlinkedList:
    """External domains (and free-mail addresses) with the most mail that links to no customer."""
    with archive.sessions() as session:
        groups = find_unlinked(session, archive.directory(session), include_bulk=include_bulk)
    return UnlinkedList(tuple(groups[:limit]))


@dataclass(frozen=True)
class Likeness(Record):
    kind: str  # domain, email or name
    value: str


@dataclass(frozen=True)
class DuplicateRow(Record):
    """Two customers that are likely one, and the command that merges the newer into the older.
    ``dossier customers duplicates --json`` prints every field but ``why`` (the text form's words)."""

    customers: tuple[str, str]  # older first
    reasons: tuple[Likeness, ...]
    merge: str
    why: str


@dataclass(frozen=True)
class DuplicateList(Listing):
    duplicates: tuple[DuplicateRow, ...]


def _row(d: Duplicate) -> DuplicateRow:
    return DuplicateRow(d.customers, tuple(Likeness(kind, value) for kind, value in d.reasons), d.merge_command,
                        d.why)


def list_duplicates(archive: Archive) -> DuplicateList:
    """Customers that are likely one: the same registrable domain, the same contact address, or
    names equal without legal forms and punctuation."""
    with archive.sessions() as session:
        return DuplicateList(tuple(_row(d) for d in stored_duplicates(session, archive.directory(session).freemail)))


@dataclass(frozen=True)
class OwnerRow(Record):
    owner: str
    customers: int


@dataclass(frozen=True)
class OwnerList(Listing):
    owners: tuple[OwnerRow, ...]


def list_owners(archive: Archive) -> OwnerList:
    """Every owner the customers name, with how many customers each has (for a handover)."""
    counts: dict[str, int] = {}
    with archive.sessions() as session:
        for (owner,) in session.execute(select(Customer.owner)):
            if owner:
                counts[owner] = counts.get(owner, 0) + 1
    return OwnerList(tuple(OwnerRow(o, n) for o, n in sorted(counts.items(), key=lambda item: item[0].casefold())))
