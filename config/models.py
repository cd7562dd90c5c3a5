"""Database tables owned by the composition root: the archive's identity, its nodes, the jobs the
whole cluster runs once, the web front end's users and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ingest.models import Base


class ArchiveIdentity(Base):
    """The archive this database holds (one row): its id, also written into its raw store
    (``dossier-archive.json``) and into every data directory of it (``node.json``)."""

    __tablename__ = "archive_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    archive: Mapped[str] = mapped_column(Text)  # a UUID, hex
    # Where the raw store was when the archive got its id (for messages: the nodes share it).
    raw_store: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Node(Base):
    """A data directory of the archive (on PostgreSQL there may be several, on several machines):
    where it is, and while its daemon runs, that daemon's pid, heartbeat and what it holds."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(Text, primary_key=True)  # a UUID, hex (the data directory's node.json)
    host: Mapped[str] = mapped_column(Text)
    data_dir: Mapped[str] = mapped_column(Text)
    joined_at: Mapped[datetime] = mapped_column(DateTime)
    pid: Mapped[int | None] = mapped_column(Integer)  # its daemon's, while one runs
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)
    # What its daemon is doing ("sync work", "nightly"), as it last said.
    holds: Mapped[list] = mapped_column(JSON, default=list)


class ClusterJob(Base):
    """A job the whole archive runs once per scheduled time, whichever node gets to it first."""

    __tablename__ = "cluster_jobs"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    slot: Mapped[datetime] = mapped_column(DateTime)  # the scheduled time of the last run (naive UTC)
    node: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class User(Base):
    """A person who may sign in to the web front end (``config.users``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
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
    actor: Mapped[str] = mapped_column(Text)  # the user's address (as typed, for a failed sign-in)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")  # what: a message id, an export's query
    address: Mapped[str] = mapped_column(String(64), default="")  # the client's IP address
