"""Conversations: subject normalisation and grouping messages into threads (pure), and finding
a stored message's thread in the database (:func:`find_thread`).

Messages join a thread through References / In-Reply-To; failing that, through the same
normalised subject (Re:/Fwd:/回复:/转发:/答复: … stripped) between the same people, when one of
the two subjects is a reply or forward and they are at most 180 days apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from .models import Message

__all__ = ["ThreadItem", "find_thread", "group_threads", "normalize_subject", "thread_of"]

# Reply and forward markers in the languages of the corpus, with "Re[2]:" and "RE:RE:" forms,
# and list tags such as "[EXT]" before them.
_PREFIX = re.compile(
    r"^(?:\s*(?:re|fw|fwd|aw|wg|sv|vs|antw|rif|tr|reply|回复|回覆|答复|答覆|转发|轉發|转寄|轉寄)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]|\s*\[[^\]]{1,40}\])",
    re.I,
)
_SPACE = re.compile(r"\s+")


def normalize_subject(subject: str) -> str:
    """The subject without reply/forward prefixes, width- and case-folded, spaces collapsed."""
    text = unicodedata.normalize("NFKC", subject or "")
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return _SPACE.sub(" ", text).strip().casefold()


@dataclass(frozen=True)
class ThreadItem:
    """What grouping needs to know of one message; ``key`` is the caller's id for it."""

    key: int
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    date: datetime
    people: frozenset[str]  # every participant address


#: Messages joined by subject alone are at most this far apart.
SUBJECT_WINDOW = timedelta(days=180)


def _shares_people(a: ThreadItem, b: ThreadItem) -> bool:
    # "The same participants": both ends of a two-person exchange, or two people of a larger one.
    common = a.people & b.people
    return len(common) >= 2 or (bool(common) and (len(a.people) == 1 or len(b.people) == 1))


def _is_reply(subject: str) -> bool:
    return bool(_PREFIX.match(unicodedata.normalize("NFKC", subject or "")))


def _joins_by_subject(a: ThreadItem, b: ThreadItem) -> bool:
    # As in JWZ threading, a subject joins only through a reply or forward ("Re: Invoice" to
    # "Invoice"): two monthly "Invoice" mails are two conversations, not one.
    return (
        (_is_reply(a.subject) or _is_reply(b.subject))
        and abs(a.date - b.date) <= SUBJECT_WINDOW
        and _shares_people(a, b)
    )


def group_threads(items: Iterable[ThreadItem]) -> list[list[ThreadItem]]:
    """The threads among ``items``, each in date order, the threads by their first message's date."""
    items = list(items)
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    by_message_id: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.message_id:
            first = by_message_id.setdefault(item.message_id, i)
            union(first, i)
    for i, item in enumerate(items):
        for ref in (item.in_reply_to, *item.references):
            j = by_message_id.get(ref) if ref else None
            if j is not None:
                union(i, j)
    by_subject: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        subject = normalize_subject(item.subject)
        if subject:
            by_subject.setdefault(subject, []).append(i)
    for members in by_subject.values():
        for n, i in enumerate(members):
            for j in members[n + 1 :]:
                if _joins_by_subject(items[i], items[j]):
                    union(i, j)
    groups: dict[int, list[ThreadItem]] = {}
    for i, item in enumerate(items):
        groups.setdefault(find(i), []).append(item)
    threads = [sorted(group, key=lambda t: (t.date, t.key)) for group in groups.values()]
    return sorted(threads, key=lambda thread: (thread[0].date, thread[0].key))


def thread_of(key: int, items: Sequence[ThreadItem]) -> list[ThreadItem]:
    """The thread holding the item with ``key`` (empty when it is not among ``items``)."""
    for thread in group_threads(items):
        if any(item.key == key for item in thread):
            return thread
    return []


# ---------------------------------------------------------------------------- in the database

#: Messages gathered around one message at most (a runaway subject like "hello" stops here).
MAX_CANDIDATES = 2000
#: Characters of a subject looked up with LIKE: candidates only (thread_of decides), and SQLite
#: refuses patterns over 50,000 bytes ("LIKE or GLOB pattern too complex": a 1 MB subject exists).
_LIKE_CHARS = 200
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
    core = normalize_subject(subject)[:_LIKE_CHARS]
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
