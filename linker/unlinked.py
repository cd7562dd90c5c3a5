"""Finding the customers nobody entered: external senders and recipients of mail that links nowhere."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import Message, ParticipantRow

from .domains import host_of, normalize_email, registrable_domain
from .match import Directory, is_freemail, is_internal
from .models import Link


@dataclass(frozen=True)
class UnlinkedGroup:
    """A domain (or, for free-mail, one address) whose mail links to no customer."""

    kind: str  # domain | address
    value: str
    messages: int
    first: datetime
    last: datetime
    addresses: tuple[str, ...]  # most active first
    suggested_name: str


@dataclass
class _Tally:
    messages: set[int] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    per_address: Counter = field(default_factory=Counter)
    names: list[str] = field(default_factory=list)


def summarize_unlinked(
    rows: Iterable[tuple[int, datetime, str, str]], directory: Directory
) -> list[UnlinkedGroup]:
    """Group (message id, date, display name, address) rows of unlinked mail by registrable domain,
    free-mail by address, internal and malformed addresses left out; most mail first. Pure."""
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    for message_id, date, name, email in rows:
        address = normalize_email(email)
        if address is None or is_internal(address, directory):
            continue
        if is_freemail(address, directory):
            key = ("address", address)
        else:
            key = ("domain", registrable_domain(host_of(address)))
        t = tallies[key]
        t.messages.add(message_id)
        t.first = date if t.first is None or date < t.first else t.first
        t.last = date if t.last is None or date > t.last else t.last
        t.per_address[address] += 1
        if name:
            t.names.append(name)
    groups = [
        UnlinkedGroup(kind, value, len(t.messages), t.first, t.last,
                      tuple(a for a, _ in t.per_address.most_common()),
                      suggest_name(kind, value, t.names))
        for (kind, value), t in tallies.items()
    ]
    return sorted(groups, key=lambda g: (-g.messages, g.value))


_SPLIT = re.compile(r"\s*(?:\||/|·|,|;|\s-\s|\s–\s|@)\s*")
_BRACKETS = re.compile(r"[(\[（【]([^)\]）】]+)[)\]）】]")


def suggest_name(kind: str, value: str, display_names: Iterable[str]) -> str:
    """A customer name for a group: a company part of the display names ("Li Wei | Acme GmbH",
    "Li Wei (Acme)", "Acme Sales") that several senders share or that contains the domain's
    name; else the domain's name itself ("haitong-nb.cn" -> "Haitong Nb"). Pure."""
    label = value.rpartition("@")[2].split(".")[0] if kind == "domain" else ""
    parts: Counter = Counter()
    whole: Counter = Counter()
    for name in display_names:
        name = " ".join(name.split()).strip("'\" ")
        if not name:
            continue
        whole[name] += 1
        pieces = _BRACKETS.findall(name) + _SPLIT.split(_BRACKETS.sub(" ", name))
        for piece in {p.strip() for p in pieces if p.strip()}:
            if piece != name or _BRACKETS.search(name):
                parts[piece] += 1
    if label:
        plain = label.replace("-", "").lower()
        for candidate, _ in (parts + whole).most_common():
            if plain and plain[:4] in candidate.replace(" ", "").replace("-", "").lower():
                return candidate
        shared = [(n, c) for n, c in parts.most_common() if c > 1]
        if shared:
            return shared[0][0]
        return " ".join(w.capitalize() for w in re.split(r"[-_]+", label) if w)
    # A free-mail address is one person: their display name is the best hint.
    return whole.most_common(1)[0][0] if whole else value.partition("@")[0]


def find_unlinked(session: Session, directory: Directory, *, include_bulk: bool = False) -> list[UnlinkedGroup]:
    """Domains and free-mail addresses of stored mail that links to no customer, most mail first.

    Mail marked internal is left out, and bulk mail unless ``include_bulk``.
    """
    query = (
        select(ParticipantRow.message_id, Message.date, ParticipantRow.name, ParticipantRow.email)
        .join(Message, Message.id == ParticipantRow.message_id)
        .where(Message.status == "ok", Message.is_internal.is_not(True),
               Message.id.not_in(select(Link.message_id)))
    )
    if not include_bulk:
        query = query.where(Message.is_bulk.is_not(True))
    return summarize_unlinked(session.execute(query), directory)
