"""The customer dossier: what a rep reads before a call, computed from a customer's linked mail.

``build_dossier`` is pure (facts in, a dossier out); ``load_dossier`` and ``customer_status``
read the database.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import SHORT_ID_LENGTH, AttachmentRow, Message, ParticipantRow, ThreadItem, group_threads

from .domains import host_of, normalize_email
from .match import Directory, is_internal
from .models import Customer, Link


@dataclass(frozen=True)
class MessageFact:
    """What the dossier needs of one linked message."""

    id: int
    short_id: str
    date: datetime  # naive UTC
    subject: str
    from_email: str
    is_outgoing: bool  # sent by the team (an internal address)
    thread: str  # any key shared by the messages of one thread
    people: tuple[tuple[str, str], ...] = ()  # (display name, address) of every participant
    quote_term: str | None = None  # the quote word reading the message found (None: not a quote)
    quote_files: tuple[str, ...] = ()  # its attachments named or titled as quotes


@dataclass(frozen=True)
class ContactSummary:
    email: str
    name: str
    messages: int
    last_date: datetime | None  # None: a configured contact with no mail yet
    last_id: str
    last_subject: str


@dataclass(frozen=True)
class QuoteSent:
    id: str
    date: datetime
    subject: str
    term: str  # the quote word that matched
    files: tuple[str, ...]  # attachments that look like quotations


@dataclass(frozen=True)
class OpenThread:
    id: str  # the customer's last message
    date: datetime
    subject: str
    from_email: str
    waiting: timedelta


@dataclass(frozen=True)
class CustomerDossier:
    messages: int
    messages_in: int
    messages_out: int
    first_contact: datetime | None
    last_contact: datetime | None
    contacts: tuple[ContactSummary, ...]
    quotes: tuple[QuoteSent, ...]  # newest first
    open_threads: tuple[OpenThread, ...]  # longest wait first
    median_reply: timedelta | None  # the team's median time to answer this customer


def build_dossier(
    facts: Sequence[MessageFact],
    *,
    emails: Iterable[str],
    domains: Iterable[str],
    directory: Directory,
    now: datetime,
) -> CustomerDossier:
    """The dossier of a customer with contact addresses ``emails`` and ``domains``. Pure.

    Contacts are the customer's configured addresses and the external participants on its
    mail whose address or domain is the customer's. A thread is open when its last message
    came from outside and no team message followed; the reply time is measured from the
    first unanswered customer message of a thread to the team's next message in it.
    """
    own_emails, own_domains = set(emails), set(domains)
    facts = sorted(facts, key=lambda f: (f.date, f.id))

    def belongs(address: str) -> bool:
        if address in own_emails:
            return True
        host = host_of(address)
        return any(host == d or host.endswith("." + d) for d in own_domains)

    contacts: dict[str, list] = {}
    for f in facts:
        for name, email in f.people:
            address = normalize_email(email)
            if address is None or is_internal(address, directory) or not belongs(address):
                continue
            entry = contacts.setdefault(address, [name, 0, f])
            entry[0] = name or entry[0]
            entry[1] += 1
            entry[2] = f
    summaries = [ContactSummary(a, n, c, f.date, f.short_id, f.subject) for a, (n, c, f) in contacts.items()]
    summaries += [ContactSummary(a, "", 0, None, "", "") for a in sorted(own_emails - set(contacts))]
    summaries.sort(key=lambda c: (c.last_date is None, -(c.last_date or now).timestamp(), c.email))

    quotes = [QuoteSent(f.short_id, f.date, f.subject, f.quote_term, f.quote_files)
              for f in reversed(facts) if f.is_outgoing and f.quote_term]

    threads: dict[str, list[MessageFact]] = defaultdict(list)
    for f in facts:
        threads[f.thread].append(f)
    open_threads, replies = [], []
    for items in threads.values():
        waiting_since = None
        for f in items:
            if f.is_outgoing:
                if waiting_since is not None:
                    replies.append(f.date - waiting_since)
                waiting_since = None
            elif waiting_since is None:
                waiting_since = f.date
        last = items[-1]
        if not last.is_outgoing:
            open_threads.append(OpenThread(last.short_id, last.date, last.subject, last.from_email,
                                           max(now - last.date, timedelta(0))))
    open_threads.sort(key=lambda t: (-t.waiting.total_seconds(), t.id))
    outgoing = sum(f.is_outgoing for f in facts)
    return CustomerDossier(
        messages=len(facts),
        messages_in=len(facts) - outgoing,
        messages_out=outgoing,
        first_contact=facts[0].date if facts else None,
        last_contact=facts[-1].date if facts else None,
        contacts=tuple(summaries),
        quotes=tuple(quotes),
        open_threads=tuple(open_threads),
        median_reply=timedelta(seconds=statistics.median(r.total_seconds() for r in replies)) if replies else None,
    )


def load_facts(session: Session, customer_id: int, directory: Directory) -> list[MessageFact]:
    """The dossier facts of every message linked to the customer."""
    ids = sorted(set(session.scalars(select(Link.message_id).where(Link.customer_id == customer_id))))
    people: dict[int, list[tuple[str, str]]] = defaultdict(list)
    quote_files: dict[int, list[str]] = defaultdict(list)
    rows = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for mid, name, email in session.execute(
            select(ParticipantRow.message_id, ParticipantRow.name, ParticipantRow.email)
            .where(ParticipantRow.message_id.in_(chunk)).order_by(ParticipantRow.id)
        ):
            people[mid].append((name, email))
        for mid, filename in session.execute(
            select(AttachmentRow.message_id, AttachmentRow.filename)
            .where(AttachmentRow.message_id.in_(chunk), AttachmentRow.is_quote.is_(True)).order_by(AttachmentRow.id)
        ):
            quote_files[mid].append(filename or "")
        for m in session.execute(
            select(Message.id, Message.sha256, Message.date, Message.subject, Message.from_email,
                   Message.header_message_id, Message.in_reply_to, Message.references, Message.quote_term)
            .where(Message.id.in_(chunk), Message.status == "ok")
        ):
            rows.append(m)
    # Threads as the rest of Dossier sees them: by References / In-Reply-To, else by subject and people.
    threads = group_threads(
        ThreadItem(key=m.id, message_id=m.header_message_id, in_reply_to=m.in_reply_to,
                   references=tuple(m.references or ()), subject=m.subject or "", date=m.date,
                   people=frozenset(email for _, email in people.get(m.id, ())))
        for m in rows
    )
    thread_of = {item.key: f"t{n}" for n, thread in enumerate(threads) for item in thread}
    return [
        MessageFact(
            id=m.id, short_id=m.sha256[:SHORT_ID_LENGTH], date=m.date, subject=m.subject or "",
            from_email=m.from_email or "",
            is_outgoing=bool(m.from_email) and is_internal(m.from_email, directory),
            thread=thread_of[m.id], people=tuple(people.get(m.id, ())),
            quote_term=m.quote_term, quote_files=tuple(quote_files.get(m.id, ())),
        )
        for m in rows
    ]


def load_dossier(session: Session, customer: Customer, directory: Directory, now: datetime) -> CustomerDossier:
    """The dossier of ``customer`` as of ``now`` (naive UTC)."""
    return build_dossier(
        load_facts(session, customer.id, directory),
        emails=[c.email for c in customer.contacts], domains=[d.domain for d in customer.domains],
        directory=directory, now=now,
    )


@dataclass(frozen=True)
class CustomerStatus:
    """Whether a customer's last message is waiting for the team, and since when."""

    last_contact: datetime
    waiting_since: datetime | None  # the customer's last message, when no team message came after


def customer_status(session: Session, directory: Directory) -> dict[int, CustomerStatus]:
    """Per customer with mail: last contact, and whether its latest message is unanswered."""
    latest: dict[int, list] = {}
    rows = session.execute(
        select(Link.customer_id, Message.date, Message.from_email)
        .join(Message, Message.id == Link.message_id).where(Message.status == "ok").distinct()
    )
    for customer_id, date, from_email in rows:
        held = latest.get(customer_id)
        if held is None or date > held[0]:
            latest[customer_id] = [date, from_email]
    return {
        cid: CustomerStatus(date, None if (from_email and is_internal(from_email, directory)) else date)
        for cid, (date, from_email) in latest.items()
    }
