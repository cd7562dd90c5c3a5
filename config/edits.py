"""Changes people make to customers and links, each re-linking exactly what it affects.

Each change runs in one transaction that also re-links the messages it affects
(:func:`change_customers`). The caller holds the write lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

import linker
from linker import CustomerRow, LinkError

from .archive import Archive
from .pipeline import _set_indexed_at, index_pending
from .queries.messages import find_message
from .queries.records import Record

log = logging.getLogger(__name__)


def change_customers(archive: Archive, change: Callable[[Session], Iterable[int] | None]) -> int:
    """Apply ``change`` to the customer records and re-link exactly the messages it affects, in
    one transaction; re-index those whose customers changed and return how many did.

    The affected messages are found by looking up, in the participants table, the addresses
    and domains whose owners differ before and after the change, plus the messages ``change``
    returns (those linked to a customer it deleted) and the replies below them; the result
    equals a full relink. Errors from ``change`` (LinkError …) roll everything back.
    """
    with archive.sessions.begin() as session:
        relinked, changed = apply_customer_change(archive, session, change)
        _set_indexed_at(session, changed, None)
    if changed:
        index_pending(archive)
    log.info("customer change: %d messages re-linked, %d changed", relinked, len(changed))
    return len(changed)


def apply_customer_change(
    archive: Archive, session: Session, change: Callable[[Session], Iterable[int] | None]
) -> tuple[int, list[int]]:
    """Inside ``session``: apply ``change`` and re-link the messages it affects (see
    :func:`change_customers`). Return how many were re-linked and the ids whose customers changed."""
    before = archive.directory(session)
    extra = set(change(session) or ())
    session.flush()
    after = archive.directory(session)
    ids = linker.affected_messages(session, before, after) | extra
    report = linker.relink(session, after, ids) if ids else None
    return (report.messages if report else 0), sorted(set(report.changed if report else ()) | extra)


@dataclass(frozen=True)
class CustomerChange(Record):
    """A customer added or changed, and how many messages changed customers because of it."""

    name: str
    created: bool
    relinked: int


@dataclass(frozen=True)
class CustomerImport(Record):
    """What a customer sheet did: names created, updated and unchanged, lines skipped (``FILE:LINE:
    reason``), and messages whose customers changed."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[str, ...]
    relinked: int


def import_customers(archive: Archive, path: Path) -> CustomerImport:
    """Create or update a customer per valid line of a CSV or XLSX sheet (see
    ``linker.read_customer_file``); a line that cannot be used is skipped and reported.
    Raises CustomerFileError when the file cannot be read at all."""
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    skipped: list[str] = []

    def change(session) -> None:
        for row in linker.read_customer_file(path):
            if not isinstance(row, CustomerRow):
                skipped.append(f"{path}:{row.line}: {row.reason}")
                continue
            try:
                with session.begin_nested():
                    customer, what = linker.upsert_customer(
                        session, row.name, domains=row.domains, emails=row.emails,
                        country=row.country, notes=row.notes, fields=row.fields,
                    )
            except LinkError as exc:
                skipped.append(f"{path}:{row.line}: {exc}")
                continue
            outcome[what].append(customer.name)

    relinked = change_customers(archive, change)
    return CustomerImport(tuple(outcome["created"]), tuple(outcome["updated"]), tuple(outcome["unchanged"]),
                          tuple(skipped), relinked)


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
