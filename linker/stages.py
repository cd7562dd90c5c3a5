"""Customer stages from mail activity: prospect, new, active, dormant, lost.

``customer_stage`` is pure (a customer's trail of mail in, a stage out); ``customer_trails``
reads every customer's trail in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import Message

from .match import Directory, is_internal
from .models import Link

#: Every stage, in the order a customer usually passes through them.
STAGES = ("prospect", "new", "active", "dormant", "lost")
#: A customer whose first mail is at most this old is new.
NEW_DAYS = 90
#: No mail for this long (either way) and the customer is dormant, unless the config says otherwise.
DORMANT_DAYS = 90
#: No mail for this long and the customer is lost.
LOST_DAYS = 365


@dataclass(frozen=True)
class Trail:
    """What a customer's stage depends on: its first and last message (either way, naive UTC)
    and whether it ever wrote to the team."""

    first: datetime | None
    last: datetime | None
    has_answered: bool


def customer_stage(trail: Trail | None, now: datetime, *, dormant_days: int = DORMANT_DAYS) -> str:
    """The stage of a customer with ``trail`` (None: no mail at all) as of ``now``. Pure.

    prospect: it never wrote to the team (we wrote and it never answered, or no mail yet);
    lost: no mail for ``LOST_DAYS``; dormant: no mail for ``dormant_days``; new: its first
    mail is at most ``NEW_DAYS`` old; active: the rest.
    """
    if trail is None or trail.last is None or trail.first is None or not trail.has_answered:
        return "prospect"
    idle = now - trail.last
    if idle >= timedelta(days=LOST_DAYS):
        return "lost"
    if idle >= timedelta(days=dormant_days):
        return "dormant"
    if now - trail.first <= timedelta(days=NEW_DAYS):
        return "new"
    return "active"


def customer_trails(session: Session, directory: Directory,
                    customer_ids: Iterable[int] | None = None) -> dict[int, Trail]:
    """Per customer with mail (of ``customer_ids``, or all): its first and last message and whether
    any came from outside. One row per customer and sender, aggregated by the database."""
    query = (
        select(Link.customer_id, Message.from_email, func.min(Message.date), func.max(Message.date))
        .join(Message, Message.id == Link.message_id).where(Message.status == "ok")
        .group_by(Link.customer_id, Message.from_email)
    )
    if customer_ids is not None:
        query = query.where(Link.customer_id.in_(sorted(set(customer_ids))))
    found: dict[int, list] = {}
    internal: dict[str, bool] = {}
    for customer_id, sender, first, last in session.execute(query):
        entry = found.setdefault(customer_id, [first, last, False])
        entry[0] = min(entry[0], first)
        entry[1] = max(entry[1], last)
        if not entry[2] and sender:
            if sender not in internal:
                internal[sender] = is_internal(sender, directory)
            entry[2] = not internal[sender]
    return {cid: Trail(first, last, answered) for cid, (first, last, answered) in found.items()}
