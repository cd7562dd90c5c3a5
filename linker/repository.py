"""Customers and links in the database: saving customers, building the match directory, (re)linking.

Functions take a Session and never commit; the caller owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ingest.message import Address, Participant
from ingest.models import Message, ParticipantRow

from .domains import normalize_domain, normalize_email
from .errors import LinkError
from .match import Directory, LinkCandidate, is_internal, match_customers
from .models import Contact, Customer, CustomerDomain, Link


class CustomerNotFoundError(LinkError):
    """No customer, or more than one, answers to the name given."""


def save_customer(
    session: Session,
    name: str,
    *,
    domains: Iterable[str] = (),
    emails: Iterable[str] = (),
    country: str = "",
    notes: str = "",
    fields: dict | None = None,
) -> tuple[Customer, bool]:
    """Create the customer ``name`` or add to an existing one; return it and whether it is new.

    Domains and addresses are normalised and added (never removed); country, notes
    and custom fields are updated where given. Raises LinkError for an empty name
    or a malformed domain or address.
    """
    name = " ".join(name.split())
    if not name:
        raise LinkError("a customer needs a name")
    customer = session.scalar(select(Customer).where(func.lower(Customer.name) == name.lower()))
    created = customer is None
    if customer is None:
        customer = Customer(
            name=name, country="", notes="", fields={},
            created_at=datetime.now(timezone.utc).replace(tzinfo=None),
        )
        session.add(customer)
    if country:
        customer.country = country
    if notes:
        customer.notes = notes
    if fields:
        customer.fields = {**(customer.fields or {}), **fields}
    _add_new(customer.domains, domains, normalize_domain, CustomerDomain, "domain", f"customer {name!r}")
    _add_new(customer.contacts, emails, normalize_email, Contact, "email", f"customer {name!r}")
    session.flush()
    return customer, created


def _add_new(rows: list, values: Iterable[str], normalize, model, attr: str, owner: str) -> None:
    """Append a ``model`` row for each normalised value not among ``rows`` yet.

    Raises LinkError naming ``owner`` and the value when one does not normalise.
    """
    have = {getattr(row, attr) for row in rows}
    for raw in values:
        value = normalize(raw)
        if value is None:
            kind = "domain" if attr == "domain" else "e-mail address"
            raise LinkError(f"{owner}: {raw!r} is not a valid {kind}")
        if value not in have:
            rows.append(model(**{attr: value}))
            have.add(value)


def find_customer(session: Session, name: str) -> Customer:
    """The customer called ``name`` (case-insensitive), else the only one whose name contains it.

    Raises CustomerNotFoundError naming the candidates when there are none or several.
    """
    wanted = " ".join(name.split()).lower()
    exact = session.scalar(select(Customer).where(func.lower(Customer.name) == wanted))
    if exact is not None:
        return exact
    # Substring match in Python: lower() in SQL does not fold non-ASCII on SQLite.
    names = session.execute(select(Customer.id, Customer.name)).all()
    hits = [(cid, cname) for cid, cname in names if wanted in cname.lower()]
    if len(hits) == 1:
        return session.get(Customer, hits[0][0])
    if not hits:
        raise CustomerNotFoundError(
            f"no customer matches {name!r}; see `dossier customers list` for the names"
        )
    listed = ", ".join(sorted(c for _, c in hits)[:5])
    raise CustomerNotFoundError(f"{name!r} matches several customers ({listed}); give the full name")


def load_directory(
    session: Session,
    *,
    own_domains: Iterable[str] = (),
    own_addresses: Iterable[str] = (),
    freemail: frozenset[str] = frozenset(),
) -> Directory:
    """A snapshot of every customer's domains and contacts, for matching."""
    by_email: dict[str, set[int]] = defaultdict(set)
    by_domain: dict[str, set[int]] = defaultdict(set)
    for customer_id, email in session.execute(select(Contact.customer_id, Contact.email)):
        by_email[email].add(customer_id)
    for customer_id, domain in session.execute(select(CustomerDomain.customer_id, CustomerDomain.domain)):
        by_domain[domain].add(customer_id)
    return Directory(
        by_email={k: frozenset(v) for k, v in by_email.items()},
        by_domain={k: frozenset(v) for k, v in by_domain.items()},
        own_domains=frozenset(d for d in (normalize_domain(x) for x in own_domains) if d),
        own_addresses=frozenset(a for a in (normalize_email(x) for x in own_addresses) if a),
        freemail=freemail,
    )


def link_message(
    session: Session,
    message: Message,
    participants: Sequence[Participant],
    directory: Directory,
    *,
    is_new: bool = False,
) -> list[LinkCandidate]:
    """Replace ``message``'s links with those the rules give for ``participants``; return them.

    ``is_new`` says the message was just stored and has no links to replace yet.
    """
    candidates = match_customers(participants, directory)
    if not is_new:
        session.execute(delete(Link).where(Link.message_id == message.id))
    for c in candidates:
        session.add(
            Link(message_id=message.id, customer_id=c.customer_id, role=c.role,
                 method=c.method, matched=c.matched)
        )
    message.is_internal = bool(participants) and all(
        is_internal(p.address.email, directory) for p in participants
    )
    return candidates


@dataclass(frozen=True)
class RelinkReport:
    messages: int
    changed: frozenset[int]  # message row ids whose set of customers changed


def relink(session: Session, directory: Directory, message_ids: Iterable[int] | None = None) -> RelinkReport:
    """Recompute the links of the given messages (all when None) from their stored participants."""
    query = select(ParticipantRow).order_by(ParticipantRow.message_id, ParticipantRow.id)
    ids = None if message_ids is None else sorted(set(message_ids))
    before = customers_by_message(session, ids)
    grouped: dict[int, list[Participant]] = defaultdict(list)
    if ids is None:
        rows = session.scalars(query)
        all_ids = session.scalars(select(Message.id).where(Message.status == "ok")).all()
    else:
        rows = (r for chunk in _chunks(ids, 500)
                for r in session.scalars(query.where(ParticipantRow.message_id.in_(chunk))))
        all_ids = ids
    for row in rows:
        grouped[row.message_id].append(Participant(row.role, Address(row.name, row.email)))
    changed = set()
    for chunk in _chunks(list(all_ids), 500):
        messages = session.scalars(select(Message).where(Message.id.in_(chunk)))
        for message in messages:
            new = link_message(session, message, grouped.get(message.id, []), directory)
            if {c.customer_id for c in new} != set(before.get(message.id, ())):
                changed.add(message.id)
    session.flush()
    return RelinkReport(messages=len(all_ids), changed=frozenset(changed))


def customers_by_message(session: Session, message_ids: Sequence[int] | None = None) -> dict[int, list[int]]:
    """Linked customer ids per message row id (sorted), for the messages given (all when None)."""
    result: dict[int, set[int]] = defaultdict(set)
    query = select(Link.message_id, Link.customer_id)
    if message_ids is None:
        pairs = session.execute(query)
    else:
        pairs = (p for chunk in _chunks(list(message_ids), 500)
                 for p in session.execute(query.where(Link.message_id.in_(chunk))))
    for message_id, customer_id in pairs:
        result[message_id].add(customer_id)
    return {k: sorted(v) for k, v in result.items()}


def customer_names(session: Session, customer_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    return dict(session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all())


@dataclass(frozen=True)
class CustomerActivity:
    messages: int
    first_contact: datetime | None
    last_contact: datetime | None


def customer_activity(session: Session) -> dict[int, CustomerActivity]:
    """Message count and first/last message date per customer id."""
    per_message = (
        select(Link.customer_id, Link.message_id).distinct().subquery()
    )
    rows = session.execute(
        select(per_message.c.customer_id, func.count(), func.min(Message.date), func.max(Message.date))
        .join(Message, Message.id == per_message.c.message_id)
        .group_by(per_message.c.customer_id)
    )
    return {cid: CustomerActivity(n, first, last) for cid, n, first, last in rows}


def _chunks(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]
