"""The composition root's own tables: the web front end's users and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ingest.models import Base


class User(Base):
    """A person who may sign in to the web front end (``config.users``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    """One entry of the audit log (``config.audit``)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_actor", "actor", "at"),
        Index("ix_audit_events_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    actor: Mapped[str] = mapped_column(String(320))  # the user's address (as typed, for a failed sign-in)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")  # what: a message id, an export's query
    address: Mapped[str] = mapped_column(String(64), default="")  # the client's IP address
