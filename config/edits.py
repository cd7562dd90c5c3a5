"""Changes people make to customers and links, each re-linking exactly what it affects.

Each change runs in one transaction that also re-links the messages it affects
(``pipeline.change_customers``). The caller holds the write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

import linker
from linker import LinkError

from .archive import Archive
from .pipeline import change_customers
from .queries.messages import find_message
from .queries.records import Record, field

if TYPE_CHECKING:
    from linker import ImportPlan, SheetReading


@dataclass(frozen=True)
class CustomerChange(Record):
    """A customer added or changed, and how many messages changed customers because of it."""

    name: str
    created: bool
    relinked: int


@dataclass(frozen=True)
class CustomerImport:
    """What a customer sheet did, or in a dry run would do: the plan of every row (``linker.ImportPlan``:
    each row's action, record and reason) and how many messages changed customers (None in a dry run)."""

    plan: ImportPlan
    relinked: int | None


def import_customers(archive: Archive, reading: SheetReading, *, dry_run: bool = False) -> CustomerImport:
    """Create or update a customer per usable row of a sheet read with ``linker.read_customer_sheet``
    (a row updates the customer with the same name, else the one owning one of its domains); a row
    that cannot be used is planned as skipped, with the reason. ``dry_run`` writes nothing."""
    if dry_run:
        with archive.sessions() as session:
            return CustomerImport(linker.import_customers(session, reading, archive.directory(session), dry_run=True),
                                  None)
    plans: list[ImportPlan] = []

    def change(session) -> None:
        plans.append(linker.import_customers(session, reading, archive.directory(session)))

    relinked = change_customers(archive, change)
    return CustomerImport(plans[0], relinked)


def add_customer(archive: Archive, name: str, *, domains: Sequence[str] = (), emails: Sequence[str] = (),
                 country: str = "", notes: str = "") -> CustomerChange:
    """Add the customer ``name``, or add domains and addresses to the one of that name. Raises
    LinkError for an empty name or a malformed domain or address."""
    result: dict = {}

    def change(session) -> None:
        customer, created = linker.save_customer(session, name, domains=domains, emails=emails,
                                                 country=country, notes=notes)
        result.update(name=customer.name, created=created)

    relinked = change_customers(archive, change)
    return CustomerChange(result["name"], result["created"], relinked)


def edit_customer(archive: Archive, name: str, *, add_domains: Sequence[str] = (),
                  remove_domains: Sequence[str] = (), add_emails: Sequence[str] = (),
                  remove_emails: Sequence[str] = (), country: str = "", notes: str = "") -> CustomerChange:
    """Change the customer ``name`` names: domains and addresses added and removed, country and
    notes replaced where given. Raises CustomerNotFoundError, or LinkError for a value it lacks."""
    result: dict = {}

    def change(session) -> None:
        customer = linker.find_customer(session, name)
        linker.edit_customer(session, customer, remove_domains=remove_domains, remove_emails=remove_emails)
        linker.save_customer(session, customer.name, domains=add_domains, emails=add_emails, country=country,
                             notes=notes)
        result["name"] = customer.name

    relinked = change_customers(archive, change)
    return CustomerChange(result["name"], False, relinked)


@dataclass(frozen=True)
class CustomerRename(Record):
    old: str
    new: str


def rename_customer(archive: Archive, name: str, new_name: str) -> CustomerRename:
    """Give a customer a new name; its links and history stay. Raises CustomerNotFoundError, or
    LinkError when another customer has the name."""
    with archive.sessions.begin() as session:
        customer = linker.find_customer(session, name)
        old = customer.name
        linker.rename_customer(session, customer, new_name)
        return CustomerRename(old, customer.name)


@dataclass(frozen=True)
class CustomerMerge(Record):
    source: str
    target: str
    relinked: int


def merge_customers(archive: Archive, source: str, target: str) -> CustomerMerge:
    """Fold customer ``source`` into ``target``: domains, contacts, fields and corrections move,
    ``source`` goes. Raises CustomerNotFoundError."""
    names: dict = {}

    def change(session) -> set[int]:
        a, b = linker.find_customer(session, source), linker.find_customer(session, target)
        names.update(source=a.name, target=b.name)
        return linker.merge_customers(session, a, b)

    relinked = change_customers(archive, change)
    return CustomerMerge(names["source"], names["target"], relinked)


def remove_customer(archive: Archive, name: str) -> CustomerChange:
    """Remove a customer and its links (never mail). Raises CustomerNotFoundError."""
    result: dict = {}

    def change(session) -> set[int]:
        customer = linker.find_customer(session, name)
        result["name"] = customer.name
        return linker.remove_customer(session, customer)

    relinked = change_customers(archive, change)
    return CustomerChange(result["name"], False, relinked)


@dataclass(frozen=True)
class DomainCustomer(Record):
    name: str
    domain: str
    created: bool
    relinked: int


def add_customer_for_domain(archive: Archive, domain: str, *, name: str = "") -> DomainCustomer:
    """Create a customer for ``domain`` (named ``name``, else as ``dossier unlinked`` suggests) and
    link its history. Raises LinkError for a malformed or free-mail domain."""
    result: dict = {}

    def change(session) -> None:
        found = linker.normalize_domain(domain)
        if found is None:
            raise LinkError(f"{domain!r} is not a domain; write it like 'example.com'")
        directory = archive.directory(session)
        if linker.is_freemail(f"x@{found}", directory):
            raise LinkError(f"{found} is a free-mail provider; add its people by address: "
                            f"dossier customers add NAME --email ADDRESS")
        suggested = name or next((g.suggested_name for g in linker.find_unlinked(session, directory)
                                  if g.kind == "domain" and g.value == found), "") or linker.suggest_name(
            "domain", found, ())
        customer, created = linker.save_customer(session, suggested, domains=[found])
        result.update(name=customer.name, domain=found, created=created)

    relinked = change_customers(archive, change)
    return DomainCustomer(result["name"], result["domain"], result["created"], relinked)


@dataclass(frozen=True)
class LinkCorrection(Record):
    message: str  # the message's short id
    customer: str


def correct_link(archive: Archive, ident: str, customer: str, action: str | None) -> LinkCorrection:
    """Pin (``action="pin"``) or block (``"block"``) the message ``ident`` names for a customer,
    whatever the rules say, or clear (None) such a correction; kept across relink and reindex.
    Raises MessageNotFoundError, CustomerNotFoundError, or LinkError when there is nothing to clear."""
    shown: dict[str, str] = {}

    def change(session) -> list[int]:
        message = find_message(session, ident)
        found = linker.find_customer(session, customer)
        shown.update(message=message.short_id, customer=found.name)
        if action is None:
            if not linker.clear_override(session, message.id, found.id):
                raise LinkError(f"message {message.short_id} has no pin or block for {found.name!r}")
        else:
            linker.set_override(session, message.id, found.id, action)
        return [message.id]

    change_customers(archive, change)
    return LinkCorrection(shown["message"], shown["customer"])


@dataclass(frozen=True)
class Reassignment(Record):
    """A handover: the customers whose owner was ``previous`` and now is ``owner``."""

    previous: str = field("from")
    owner: str = field("to")
    customers: tuple[str, ...] = ()


def reassign_customers(archive: Archive, previous: str, owner: str) -> Reassignment:
    """Hand every customer whose owner is ``previous`` (compared without case) to ``owner``: the
    new owner sees their whole history at once (links do not change). Raises LinkError when no
    customer has that owner, or ``owner`` is empty. The caller holds the write lock."""
    old, new = linker.normalize_owner(previous), linker.normalize_owner(owner)
    if not old or not new:
        raise LinkError("give the owner to hand over from and the one to hand over to")
    with archive.sessions.begin() as session:
        customers = [c for c in session.scalars(select(linker.Customer).order_by(linker.Customer.name))
                     if (c.owner or "").casefold() == old.casefold()]
        if not customers:
            raise LinkError(f"no customer has the owner {old!r}; `dossier customers list` shows the owners")
        for customer in customers:
            customer.owner = new
        names = tuple(c.name for c in customers)
    return Reassignment(old, new, names)
