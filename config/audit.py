"""The audit log: who signed in (or failed to), exported or downloaded raw mail, and when.

Rows are written in a transaction of their own, without the archive's write lock: an audit entry
is a single small insert that must never wait for a sync to finish (SQLite's WAL and busy timeout
order it with a running writer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import utcnow

from .archive import Archive
from .models import AuditEvent
from .queries.records import Listing, Record

log = logging.getLogger(__name__)

#: What is recorded: sign-ins, refused sign-ins, sign-outs, exports, raw and attachment downloads,
#: and the changes people make from the web (handovers).
ACTIONS = ("signin", "signin_failed", "signin_refused", "signout", "export", "raw_download",
           "attachment_download", "reassign")


def add_event(session: Session, actor: str, action: str, detail: str = "", address: str = "",
              at: datetime | None = None) -> None:
    """Add an audit row in ``session`` (the caller commits)."""
    session.add(AuditEvent(at=at or utcnow(), actor=actor[:320], action=action, detail=detail,
                           address=address[:64]))


def record_event(archive: Archive, actor: str, action: str, detail: str = "", address: str = "") -> None:
    """Write one audit row now, in a transaction of its own."""
    with archive.sessions.begin() as session:
        add_event(session, actor, action, detail, address)
    log.info("audit: %s %s %s", actor, action, detail)


def count_events(session: Session, action: str, since: datetime, *, actor: str | None = None,
                 address: str | None = None) -> int:
    """How many ``action`` rows since ``since`` for ``actor`` or from ``address``."""
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action, AuditEvent.at >= since)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if address is not None:
        query = query.where(AuditEvent.address == address)
    return session.scalar(query) or 0


@dataclass(frozen=True)
class AuditRow(Record):
    at: datetime
    actor: str
    action: str
    detail: str
    address: str


@dataclass(frozen=True)
class AuditList(Listing):
    events: tuple[AuditRow, ...]


def list_audit(archive: Archive, *, since: datetime | None = None, limit: int = 1000) -> AuditList:
    """Audit rows newest first, on or after ``since`` (naive UTC), at most ``limit``."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    with archive.sessions() as session:
        return AuditList(tuple(AuditRow(e.at, e.actor, e.action, e.detail, e.address)
                               for e in session.scalars(query)))
