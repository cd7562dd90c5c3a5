"""Turning a parsed message into the document the index stores (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ingest.message import Address, ParsedMessage

#: Stored body text is capped so one huge message cannot bloat the index.
MAX_BODY_CHARS = 1_000_000


@dataclass(frozen=True)
class Document:
    """One message as the index sees it; ``id`` is the raw bytes' SHA-256."""

    id: str
    date: datetime  # naive UTC
    subject: str
    body: str
    sender: str
    recipients: str
    from_addresses: tuple[str, ...]
    addresses: tuple[str, ...]
    domains: tuple[str, ...]
    attachments: tuple[str, ...]
    customers: tuple[int, ...]
    folders: tuple[str, ...]
    accounts: tuple[str, ...]


def _describe(addresses: Iterable[Address]) -> str:
    return "\n".join(f"{a.name} <{a.email}>" if a.name else a.email for a in addresses)


def build_document(
    sha256: str,
    parsed: ParsedMessage,
    *,
    date: datetime,
    customers: Iterable[int] = (),
    folders: Iterable[str] = (),
    accounts: Iterable[str] = (),
) -> Document:
    """The index document for a message; ``date`` is the message's naive-UTC date as stored."""
    everyone = parsed.addresses()
    return Document(
        id=sha256,
        date=date,
        subject=parsed.subject,
        body=parsed.text[:MAX_BODY_CHARS],
        sender=_describe(parsed.addresses("from", "sender", "reply_to")),
        recipients=_describe(parsed.addresses("to", "cc", "bcc")),
        from_addresses=tuple(dict.fromkeys(a.email for a in parsed.addresses("from", "sender"))),
        addresses=tuple(dict.fromkeys(a.email for a in everyone)),
        domains=tuple(dict.fromkeys(a.domain for a in everyone)),
        attachments=tuple(a.filename for a in parsed.attachments if a.filename),
        customers=tuple(sorted(set(customers))),
        folders=tuple(dict.fromkeys(folders)),
        accounts=tuple(dict.fromkeys(accounts)),
    )
