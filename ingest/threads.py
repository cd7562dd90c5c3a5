"""Conversations: subject normalisation and grouping messages into threads. Pure.

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

__all__ = ["ThreadItem", "group_threads", "normalize_subject", "thread_of"]

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
