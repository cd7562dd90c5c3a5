"""Reading one message: by the id people type, its view, raw bytes, thread and why it links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import ingest
from ingest import Address, Message, ParseError, Participant, find_thread
from linker import Link, customer_names, customers_by_message, explain_participant, overrides_for

from ..archive import Archive
from ..settings import ConfigError
from .records import Listing, Record, field
from .scope import Scope, is_visible, visible_messages


class MessageNotFoundError(ConfigError):
    """No message has the id or Message-ID asked for, or several do."""


class MessageUnreadableError(ConfigError):
    """A stored message that parsed when it was imported no longer does."""


def find_message(session: Session, ident: str) -> Message:
    """The message whose id (a prefix of its SHA-256, at least 4 hex digits) or Message-ID header
    is ``ident``. Raises MessageNotFoundError when none or several match."""
    ident = ident.strip()
    hexish = ident.lower()
    if 4 <= len(hexish) <= 64 and all(c in "0123456789abcdef" for c in hexish):
        found = session.scalars(select(Message).where(Message.sha256.like(hexish + "%")).limit(2)).all()
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise MessageNotFoundError(f"{ident!r} matches several messages; give more characters of the id")
    header = ident.strip("<>")
    found = session.scalars(select(Message).where(Message.header_message_id == header)).all()
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        ids = ", ".join(m.short_id for m in found)
        raise MessageNotFoundError(f"Message-ID {header!r} is shared by {len(found)} messages ({ids}); "
                                   "show one by its id")
    raise MessageNotFoundError(f"no message {ident!r}; use the id `dossier search` prints")


def find_visible_message(session: Session, ident: str, scope: Scope | None) -> Message:
    """:func:`find_message` among the messages the reader may see: one outside ``scope`` is not
    found, with the same words as one that does not exist. Raises MessageNotFoundError."""
    message = find_message(session, ident)
    if not is_visible(session, scope, message.id):
        raise MessageNotFoundError(f"no message {ident.strip()!r}; use the id `dossier search` prints")
    return message


@dataclass(frozen=True)
class MessageSummary(Record):
    """A message in a list: its short id, Message-ID, date, sender and subject."""

    id: str
    message_id: str | None
    date: datetime | None
    sender: str = field("from")
    subject: str = ""


def summarize(message: Message) -> MessageSummary:
    return MessageSummary(id=message.short_id, message_id=message.header_message_id, date=message.date,
                          sender=message.from_email, subject=message.subject)


@dataclass(frozen=True)
class Person(Record):
    name: str
    email: str


@dataclass(frozen=True)
class AttachmentView(Record):
    filename: str
    content_type: str
    size: int
    text_status: str | None  # how reading its text went ("ok", "skipped: …"); None when unknown


@dataclass(frozen=True)
class MessageView(Record):
    """One message as ``dossier show`` prints it. A message that failed to parse has only its id,
    status, error and folders; the rest comes from parsing its raw bytes again."""

    id: str
    sha256: str
    status: str  # "ok" or "failed"
    error: str | None  # why it failed; on an "ok" message, that it was read only partially
    folders: tuple[str, ...]  # "account:folder" of every copy
    date: datetime | None  # UTC
    date_offset: int | None  # the sender's UTC offset, minutes
    date_source: str | None  # "date", "received" or "import"
    subject: str
    sender: tuple[Person, ...] = field("from")
    reply_to: tuple[Person, ...] = ()
    to: tuple[Person, ...] = ()
    cc: tuple[Person, ...] = ()
    bcc: tuple[Person, ...] = ()
    message_id: str | None = None
    customers: tuple[str, ...] = ()
    attachments: tuple[AttachmentView, ...] = ()
    text: str = ""
    labels: tuple[str, ...] = ()  # Gmail labels of its copies
    html_text: str = ""  # the text of its HTML version, where it has one beside the plain text
    is_html_only: bool = False


def _people(addresses: Sequence[Address]) -> tuple[Person, ...]:
    return tuple(Person(a.name, a.email) for a in addresses)


def read_message(archive: Archive, ident: str, *, scope: Scope | None = None) -> MessageView:
    """The message ``ident`` names, parsed again from its raw bytes. Raises MessageNotFoundError,
    MessageUnreadableError, or RawStoreError when its raw bytes are gone."""
    with archive.sessions() as session:
        message = find_visible_message(session, ident, scope)
        data = archive.raw.get(message.sha256)
        folders = tuple(f"{c.account}:{c.folder}" for c in message.copies)
        base = dict(id=message.short_id, sha256=message.sha256, status=message.status, error=message.error,
                    folders=folders, date=message.date, date_offset=message.date_offset,
                    date_source=message.date_source)
        if message.status != "ok":
            return MessageView(**base, subject=message.subject, sender=())
        links = customers_by_message(session, [message.id]).get(message.id, [])
        names = customer_names(session, links)
        try:
            parsed = ingest.parse_message(data)  # the parser loads here: a thread or a link needs none of it
        except ParseError as exc:
            raise MessageUnreadableError(f"message {message.short_id} no longer parses: {exc}") from exc
        rows = message.attachments
        statuses = [r.text_status for r in rows] if len(rows) == len(parsed.attachments) else [None] * len(
            parsed.attachments)
        return MessageView(
            **base,
            subject=parsed.subject,
            sender=_people(parsed.addresses("from")),
            reply_to=_people(parsed.addresses("reply_to")),
            to=_people(parsed.addresses("to")),
            cc=_people(parsed.addresses("cc")),
            bcc=_people(parsed.addresses("bcc")),
            message_id=parsed.message_id,
            customers=tuple(names[c] for c in links if c in names),
            attachments=tuple(AttachmentView(a.filename, a.content_type, a.size, status)
                              for a, status in zip(parsed.attachments, statuses, strict=True)),
            text=parsed.text,
            labels=tuple(dict.fromkeys(label for c in message.copies for label in c.labels or ())),
            html_text=parsed.html_text,
            is_html_only=parsed.is_html_only,
        )


def read_raw_message(archive: Archive, ident: str, *, scope: Scope | None = None) -> bytes:
    """The exact bytes of the message ``ident`` names, as stored. Raises MessageNotFoundError or
    RawStoreError."""
    with archive.sessions() as session:
        sha = find_visible_message(session, ident, scope).sha256
    return archive.raw.get(sha)


@dataclass(frozen=True)
class ThreadMessage(MessageSummary):
    is_selected: bool = False  # the message the conversation was asked for
    customers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conversation(Listing):
    """The conversation a message belongs to, oldest first."""

    messages: tuple[ThreadMessage, ...]


def read_thread(archive: Archive, ident: str, *, scope: Scope | None = None) -> Conversation:
    """The conversation of the message ``ident`` names (see ``ingest.find_thread``), without
    the messages outside ``scope``. Raises MessageNotFoundError."""
    with archive.sessions() as session:
        message = find_visible_message(session, ident, scope)
        members = find_thread(session, message)
        if scope is not None:
            visible = visible_messages(session, scope, [m.id for m in members])
            members = [m for m in members if m.id in visible]
        links = customers_by_message(session, [m.id for m in members])
        names = customer_names(session, [c for ids in links.values() for c in ids])
        return Conversation(tuple(
            ThreadMessage(**vars(summarize(m)), is_selected=m.id == message.id,
                          customers=tuple(names[c] for c in links.get(m.id, []) if c in names))
            for m in members
        ))


@dataclass(frozen=True)
class ParticipantRule(Record):
    role: str
    email: str
    why: str  # which rule linked this address, or why none did


@dataclass(frozen=True)
class Override(Record):
    customer: str
    action: str  # "pin" or "block"


@dataclass(frozen=True)
class LinkReason(Record):
    customer: str
    method: str  # the rule: pin, address, domain, thread
    role: str  # the participant role it matched, or pin / thread
    matched: str  # the value matched


@dataclass(frozen=True)
class LinkExplanation(Record):
    """Why a message links to the customers it does (``dossier link explain``)."""

    id: str
    subject: str
    is_bulk: bool
    is_internal: bool
    participants: tuple[ParticipantRule, ...]
    in_reply_to: str | None
    inherited: tuple[str, ...]  # customers linked through the answered message (weaker links)
    overrides: tuple[Override, ...]
    links: tuple[LinkReason, ...]


def explain_links(archive: Archive, ident: str, *, scope: Scope | None = None) -> LinkExplanation:
    """Per participant of the message ``ident`` names, which rule linked it or why none did; its
    thread inheritance, corrections and stored links. Raises MessageNotFoundError."""
    with archive.sessions() as session:
        message = find_visible_message(session, ident, scope)
        directory = archive.directory(session)
        links = session.execute(
            select(Link.customer_id, Link.role, Link.method, Link.matched)
            .where(Link.message_id == message.id).order_by(Link.customer_id, Link.role)
        ).all()
        overrides = overrides_for(session, message.id)
        names = customer_names(session, [c for c, *_ in links] + [c for c, _ in overrides]
                               + [c for ids in directory.by_email.values() for c in ids]
                               + [c for ids in directory.by_domain.values() for c in ids])

        def name(customer_id: int) -> str:
            return names.get(customer_id, str(customer_id))

        rules = tuple(
            ParticipantRule(p.role, p.email, explain_participant(
                Participant(p.role, Address(p.name, p.email)), directory, is_bulk=bool(message.is_bulk), names=names))
            for p in message.participants
        )
        return LinkExplanation(
            id=message.short_id,
            subject=message.subject,
            is_bulk=bool(message.is_bulk),
            is_internal=bool(message.is_internal),
            participants=rules,
            in_reply_to=message.in_reply_to,
            inherited=tuple(name(c) for c, _role, method, _ in links if method == "thread"),
            overrides=tuple(Override(name(c), action) for c, action in overrides),
            links=tuple(LinkReason(name(c), method, role, matched) for c, role, method, matched in links),
        )
