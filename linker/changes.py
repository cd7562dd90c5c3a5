"""Changing customers and correcting links: edit, merge, rename, remove, pin, block; domain conflicts.

Functions take a Session and never commit. Those that delete a customer return the messages
linked to it before, because the database drops its links with it and the caller must still
re-link and re-index them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ingest import utcnow

from .domains import normalize_domain, normalize_email
from .errors import LinkError
from .models import Contact, Customer, CustomerDomain, CustomerPerson, Link, LinkOverride

OVERRIDE_ACTIONS = ("pin", "block")


def edit_customer(
    session: Session,
    customer: Customer,
    *,
    remove_domains: Iterable[str] = (),
    remove_emails: Iterable[str] = (),
) -> None:
    """Drop domains and contact addresses from ``customer`` (adding goes through save_customer).

    Raises LinkError naming a value the customer does not have.
    """
    for raw in remove_domains:
        domain = normalize_domain(raw)
        row = next((d for d in customer.domains if d.domain == domain), None)
        if row is None:
            raise LinkError(f"customer {customer.name!r} has no domain {raw!r}")
        customer.domains.remove(row)
    for raw in remove_emails:
        email = normalize_email(raw)
        row = next((c for c in customer.contacts if c.email == email), None)
        if row is None:
            raise LinkError(f"customer {customer.name!r} has no contact {raw!r}")
        customer.contacts.remove(row)
    session.flush()


def rename_customer(session: Session, customer: Customer, new_name: str) -> None:
    """Give ``customer`` a new name (links follow: they hold the id). Raises LinkError when the
    name is empty or another customer has it."""
    name = " ".join(new_name.split())
    if not name:
        raise LinkError("a customer needs a name")
    other = session.scalar(select(Customer).where(func.lower(Customer.name) == name.lower()))
    if other is not None and other.id != customer.id:
        raise LinkError(f"there is already a customer {other.name!r}; merge them with `dossier customers merge`")
    customer.name = name
    session.flush()


def linked_messages(session: Session, customer_id: int) -> set[int]:
    """Messages linked to, or pinned or blocked for, the customer."""
    linked = set(session.scalars(select(Link.message_id).where(Link.customer_id == customer_id)))
    return linked | set(session.scalars(select(LinkOverride.message_id).where(LinkOverride.customer_id == customer_id)))


def remove_customer(session: Session, customer: Customer) -> set[int]:
    """Delete ``customer`` with its domains, contacts, links and overrides (never any mail);
    return the messages that were linked to it."""
    before = linked_messages(session, customer.id)
    session.execute(delete(Link).where(Link.customer_id == customer.id))
    session.execute(delete(LinkOverride).where(LinkOverride.customer_id == customer.id))
    session.delete(customer)
    session.flush()
    return before


def merge_customers(session: Session, source: Customer, target: Customer) -> set[int]:
    """Fold ``source`` into ``target``: its domains, contacts, people, custom fields, notes and
    overrides move over (and its owner, when ``target`` has none), then ``source`` is removed;
    return the messages that were linked to ``source``.

    Raises LinkError when both are the same customer.
    """
    if source.id == target.id:
        raise LinkError(f"cannot merge {source.name!r} into itself")
    have_domains = {d.domain for d in target.domains}
    for row in list(source.domains):
        if row.domain not in have_domains:
            target.domains.append(CustomerDomain(domain=row.domain))
    have_emails = {c.email for c in target.contacts}
    for row in list(source.contacts):
        if row.email not in have_emails:
            target.contacts.append(Contact(email=row.email))
    have_people = {(p.name, p.phone) for p in target.people}
    for person in list(source.people):
        if (person.name, person.phone) not in have_people:
            target.people.append(CustomerPerson(name=person.name, phone=person.phone))
    target.owner = target.owner or source.owner
    target.fields = {**(source.fields or {}), **(target.fields or {})}
    if source.notes and source.notes not in (target.notes or ""):
        target.notes = "\n".join(n for n in (target.notes, source.notes) if n)
    if not target.country:
        target.country = source.country
    held = set(session.scalars(select(LinkOverride.message_id).where(LinkOverride.customer_id == target.id)))
    for override in session.scalars(select(LinkOverride).where(LinkOverride.customer_id == source.id)).all():
        if override.message_id not in held:  # the target's own correction wins
            session.add(LinkOverride(message_id=override.message_id, customer_id=target.id,
                                     action=override.action, created_at=override.created_at))
    session.flush()
    return remove_customer(session, source)


def set_override(session: Session, message_id: int, customer_id: int, action: str) -> None:
    """Pin (``"pin"``) or block (``"block"``) one message's link to one customer, replacing any
    earlier correction of that pair. Raises LinkError for another action."""
    if action not in OVERRIDE_ACTIONS:
        raise LinkError(f"unknown link correction {action!r}; use one of {', '.join(OVERRIDE_ACTIONS)}")
    row = session.scalar(select(LinkOverride).where(
        LinkOverride.message_id == message_id, LinkOverride.customer_id == customer_id))
    if row is None:
        session.add(LinkOverride(message_id=message_id, customer_id=customer_id, action=action, created_at=utcnow()))
    else:
        row.action, row.created_at = action, utcnow()
    session.flush()


def clear_override(session: Session, message_id: int, customer_id: int) -> bool:
    """Forget the correction of one message's link to one customer; return whether there was one."""
    result = session.execute(delete(LinkOverride).where(
        LinkOverride.message_id == message_id, LinkOverride.customer_id == customer_id))
    return bool(result.rowcount)


def overrides_for(session: Session, message_id: int) -> list[tuple[int, str]]:
    """(customer id, action) of the corrections on one message."""
    return [tuple(r) for r in session.execute(
        select(LinkOverride.customer_id, LinkOverride.action)
        .where(LinkOverride.message_id == message_id).order_by(LinkOverride.customer_id)
    )]


@dataclass(frozen=True)
class DomainConflict:
    """A domain (or contact address) that several customers claim, and what it links."""

    kind: str  # domain | email
    value: str
    customers: tuple[str, ...]  # names, sorted
    messages: int  # messages linked to more than one of them through this value


def find_conflicts(session: Session) -> list[DomainConflict]:
    """Domains and contact addresses claimed by more than one customer, most mail first."""
    names = dict(session.execute(select(Customer.id, Customer.name)).all())
    conflicts = []
    for kind, model, column in (("domain", CustomerDomain, CustomerDomain.domain),
                                ("email", Contact, Contact.email)):
        owners: dict[str, set[int]] = defaultdict(set)
        shared = select(column).group_by(column).having(func.count() > 1)
        for value, cid in session.execute(select(column, model.customer_id).where(column.in_(shared))):
            owners[value].add(cid)
        for value, cids in owners.items():
            method = "domain" if kind == "domain" else "address"
            per_message = session.execute(
                select(Link.message_id).where(Link.method == method, Link.matched == value,
                                              Link.customer_id.in_(cids))
                .group_by(Link.message_id).having(func.count(func.distinct(Link.customer_id)) > 1)
            ).all()
            conflicts.append(DomainConflict(kind, value, tuple(sorted(names[c] for c in cids)), len(per_message)))
    return sorted(conflicts, key=lambda c: (-c.messages, c.kind, c.value))
