"""Customers as plain values: a snapshot of each record, and the one rule for adding details to one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from .domains import normalize_email
from .models import Contact, Customer, CustomerDomain, CustomerPerson

__all__ = ["CustomerRecord", "Person", "load_customer_records", "merge_record", "normalize_owner", "record_of"]


@dataclass(frozen=True)
class Person:
    """A contact person or a phone number on file: a name, a phone, or both."""

    name: str = ""
    phone: str = ""

    def label(self) -> str:
        """``王磊 (+86 138 0000 0000)``, ``王磊`` or ``+86 138 0000 0000``."""
        if self.name and self.phone:
            return f"{self.name} ({self.phone})"
        return self.name or self.phone


@dataclass(frozen=True)
class CustomerRecord:
    """One customer's details; ``id`` is None for one not stored yet. Domains and addresses sorted."""

    id: int | None
    name: str
    domains: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    owner: str = ""
    people: tuple[Person, ...] = ()
    country: str = ""
    notes: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


def normalize_owner(value: str) -> str:
    """An owner as stored: a normalised address when ``value`` is one, else the name single-spaced."""
    text = " ".join(value.split())
    return normalize_email(text) or text


def merge_record(
    record: CustomerRecord,
    *,
    domains: Iterable[str] = (),
    emails: Iterable[str] = (),
    owner: str = "",
    people: Iterable[Person] = (),
    country: str = "",
    notes: str = "",
    fields: Mapping[str, str] | None = None,
) -> CustomerRecord:
    """``record`` with details added: domains, addresses and people are added (never removed);
    owner, country and notes replace the old ones where given; custom fields are updated.
    Values must already be normalised."""
    have_people = set(record.people)
    return replace(
        record,
        domains=tuple(sorted({*record.domains, *domains})),
        emails=tuple(sorted({*record.emails, *emails})),
        owner=owner or record.owner,
        people=record.people + tuple(dict.fromkeys(p for p in people if p not in have_people)),
        country=country or record.country,
        notes=notes or record.notes,
        fields={**record.fields, **(fields or {})},
    )


def record_of(customer: Customer) -> CustomerRecord:
    """The record of a loaded customer row."""
    return CustomerRecord(
        id=customer.id, name=customer.name,
        domains=tuple(sorted(d.domain for d in customer.domains)),
        emails=tuple(sorted(c.email for c in customer.contacts)),
        owner=customer.owner or "",
        people=tuple(Person(p.name, p.phone) for p in customer.people),
        country=customer.country or "", notes=customer.notes or "", fields=dict(customer.fields or {}),
    )


def load_customer_records(session: Session) -> list[CustomerRecord]:
    """Every customer's record, in the order they were created (four queries, whatever the count)."""
    domains: dict[int, list[str]] = defaultdict(list)
    emails: dict[int, list[str]] = defaultdict(list)
    people: dict[int, list[Person]] = defaultdict(list)
    for cid, domain in session.execute(select(CustomerDomain.customer_id, CustomerDomain.domain)):
        domains[cid].append(domain)
    for cid, email in session.execute(select(Contact.customer_id, Contact.email)):
        emails[cid].append(email)
    for cid, name, phone in session.execute(
        select(CustomerPerson.customer_id, CustomerPerson.name, CustomerPerson.phone).order_by(CustomerPerson.id)
    ):
        people[cid].append(Person(name, phone))
    rows = session.execute(select(Customer.id, Customer.name, Customer.owner, Customer.country, Customer.notes,
                                  Customer.fields).order_by(Customer.id))
    return [
        CustomerRecord(id=cid, name=name, domains=tuple(sorted(domains[cid])), emails=tuple(sorted(emails[cid])),
                       owner=owner or "", people=tuple(people[cid]), country=country or "", notes=notes or "",
                       fields=dict(fields or {}))
        for cid, name, owner, country, notes, fields in rows
    ]
