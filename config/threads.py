"""Finding a message's conversation in the database (the grouping itself is ``ingest.threads``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from ingest import Message, ThreadItem, normalize_subject, thread_of

#: Messages gathered around one message at most (a runaway subject like "hello" stops here).
MAX_CANDIDATES = 2000
_ROUNDS = 6


def _item(message: Message) -> ThreadItem:
    return ThreadItem(
        key=message.id,
        message_id=message.header_message_id,
        in_reply_to=message.in_reply_to,
        references=tuple(message.references or ()),
        subject=message.subject or "",
        date=message.date,
        people=frozenset(p.email for p in message.participants),
    )


def _by_ids(session: Session, header_ids: Iterable[str]) -> list[Message]:
    ids = list(header_ids)
    found: list[Message] = []
    for start in range(0, len(ids), 400):
        chunk = ids[start:start + 400]
        found.extend(session.scalars(
            select(Message)
            .where(Message.status == "ok", or_(Message.header_message_id.in_(chunk), Message.in_reply_to.in_(chunk)))
            .options(selectinload(Message.participants))
        ))
    return found


def _by_subject(session: Session, subject: str) -> list[Message]:
    core = normalize_subject(subject)
    if not core:
        return []
    escaped = core.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return list(session.scalars(
        select(Message)
        .where(Message.status == "ok", Message.subject.ilike(f"%{escaped}%", escape="!"))
        .options(selectinload(Message.participants))
        .limit(MAX_CANDIDATES)
    ))


def find_thread(session: Session, message: Message) -> list[Message]:
    """The conversation holding ``message``, oldest first: every message linked to it by
    References / In-Reply-To, and those with the same normalised subject between the same people."""
    found: dict[int, Message] = {message.id: message}
    known_ids: set[str] = set()
    frontier = [message]
    subjects_seen: set[str] = set()
    for _ in range(_ROUNDS):
        header_ids: set[str] = set()
        for m in frontier:
            for ref in (m.header_message_id, m.in_reply_to, *(m.references or ())):
                if ref and ref not in known_ids:
                    header_ids.add(ref)
        known_ids |= header_ids
        new = [m for m in _by_ids(session, header_ids) if m.id not in found] if header_ids else []
        for m in frontier:
            core = normalize_subject(m.subject or "")
            if core and core not in subjects_seen:
                subjects_seen.add(core)
                new.extend(c for c in _by_subject(session, m.subject) if c.id not in found)
        new = list({m.id: m for m in new}.values())
        if not new or len(found) >= MAX_CANDIDATES:
            break
        for m in new:
            found[m.id] = m
        # Go on only from the messages that joined the conversation, not every candidate.
        members = {item.key for item in thread_of(message.id, [_item(m) for m in found.values()])}
        frontier = [m for m in new if m.id in members]
        if not frontier:
            break
    thread = thread_of(message.id, [_item(m) for m in found.values()])
    return [found[item.key] for item in thread]
