"""What one reader may see: a rep's customers with all their mail, plus the mail of their accounts.

Every read function takes ``scope``: None reads everything (the CLI, admins and managers); a
:class:`Scope` limits every answer to the customers whose owner is the reader and the mail
that links to them or came through an IMAP account whose ``owner`` names the reader. Anything
outside reads as not there: the same error as for an id or name that exists nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ingest import MessageCopy
from linker import Customer, CustomerNotFoundError, Link, find_customer, normalize_owner


@dataclass(frozen=True)
class Scope:
    """A reader's scope: the owner values that name them (their address, and their name where
    the customer sheet uses names) and the IMAP accounts whose ``owner`` names them."""

    owners: frozenset[str]
    accounts: frozenset[str] = frozenset()

    @classmethod
    def of(cls, owners: Iterable[str], accounts: Iterable[str] = ()) -> Scope:
        """A scope with ``owners`` compared as customer owners are stored (case aside)."""
        return cls(frozenset(normalize_owner(o).casefold() for o in owners if o and o.strip()), frozenset(accounts))

    def names(self, owner: str | None) -> bool:
        """Whether a customer's stored ``owner`` names this reader."""
        return bool(owner) and owner.casefold() in self.owners


def owned_customer_ids(session: Session, scope: Scope) -> set[int]:
    """The customers whose owner is the reader (compared in Python: SQLite's lower() folds ASCII only)."""
    return {cid for cid, owner in session.execute(select(Customer.id, Customer.owner)) if scope.names(owner)}


def search_scope(session: Session, scope: Scope | None) -> tuple[tuple[int, ...], tuple[str, ...]] | None:
    """The index's form of ``scope`` (``index.SearchRequest.within``): customer ids and accounts."""
    if scope is None:
        return None
    return tuple(sorted(owned_customer_ids(session, scope))), tuple(sorted(scope.accounts))


def visible_messages(session: Session, scope: Scope | None, message_ids: Iterable[int]) -> set[int]:
    """Those of ``message_ids`` the reader may see."""
    ids = set(message_ids)
    if scope is None or not ids:
        return ids
    owned = owned_customer_ids(session, scope)
    seen: set[int] = set()
    chunked = sorted(ids)
    for start in range(0, len(chunked), 500):
        chunk = chunked[start:start + 500]
        if owned:
            seen.update(session.scalars(select(Link.message_id).where(
                Link.message_id.in_(chunk), Link.customer_id.in_(owned))))
        if scope.accounts:
            seen.update(session.scalars(select(MessageCopy.message_id).where(
                MessageCopy.message_id.in_(chunk), MessageCopy.account.in_(sorted(scope.accounts)))))
    return seen


def is_visible(session: Session, scope: Scope | None, message_id: int) -> bool:
    """Whether the reader may see the message ``message_id``."""
    if scope is None:
        return True
    owned = owned_customer_ids(session, scope)
    linked = bool(owned) and session.scalar(select(exists().where(
        Link.message_id == message_id, Link.customer_id.in_(owned))))
    return bool(linked) or (bool(scope.accounts) and bool(session.scalar(select(exists().where(
        MessageCopy.message_id == message_id, MessageCopy.account.in_(sorted(scope.accounts)))))))


def find_visible_customer(session: Session, name: str, scope: Scope | None) -> Customer:
    """The customer ``name`` names (``linker.find_customer``) among those the reader may see.
    Raises CustomerNotFoundError, naming only customers in scope."""
    if scope is None:
        return find_customer(session, name)
    wanted = " ".join(name.split()).lower()
    mine = [(cid, cname) for cid, cname, owner in session.execute(select(Customer.id, Customer.name, Customer.owner))
            if scope.names(owner)]
    exact = [cid for cid, cname in mine if cname.lower() == wanted]
    hits = exact or [cid for cid, cname in mine if wanted in cname.lower()]
    if len(hits) == 1:
        return session.get(Customer, hits[0])
    if not hits:
        raise CustomerNotFoundError(f"no customer matches {name!r}; see `dossier customers list` for the names")
    listed = ", ".join(sorted(cname for cid, cname in mine if cid in hits)[:5])
    raise CustomerNotFoundError(f"{name!r} matches several customers ({listed}); give the full name")
