"""Database tables owned by the ingest stage: messages, their folder copies, participants, attachments.

Every table is declared on :class:`Base`, whose metadata the other stages share; the schema itself
is built by the migrations in ``config/migrations``. Types are portable (SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Length of the short message id shown to users: a prefix of the raw bytes' SHA-256.
SHORT_ID_LENGTH = 12


class Base(DeclarativeBase):
    """Declarative base for every Dossier table."""


class Message(Base):
    """One distinct message, identified by the SHA-256 of its raw bytes."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # "ok" or "failed"; a failed message keeps its raw bytes and the reason. An "ok" message with an
    # error was read partially (ParsedMessage.partial): its headers and text are linked and indexed,
    # and `dossier status` and `check` report it as a parse problem.
    status: Mapped[str] = mapped_column(String(16), default="ok")
    error: Mapped[str | None] = mapped_column(Text)
    header_message_id: Mapped[str | None] = mapped_column(Text, index=True)
    # True when other stored bytes carry the same Message-ID header.
    is_variant: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(Text, default="")
    from_name: Mapped[str] = mapped_column(Text, default="")
    from_email: Mapped[str] = mapped_column(Text, default="", index=True)
    date: Mapped[datetime] = mapped_column(DateTime, index=True)  # naive UTC
    date_offset: Mapped[int | None] = mapped_column(Integer)  # original offset, minutes
    date_source: Mapped[str] = mapped_column(String(16))  # date | received | import
    # Indexed: the linker finds the replies to a message to pass its links down the thread.
    in_reply_to: Mapped[str | None] = mapped_column(Text, index=True)
    references: Mapped[list] = mapped_column(JSON, default=list)
    is_html_only: Mapped[bool] = mapped_column(Boolean, default=False)
    defects: Mapped[list] = mapped_column(JSON, default=list)
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False)
    # List or robot mail (see ParsedMessage.is_bulk): links by exact address only. NULL on rows
    # stored before the column existed reads as False.
    is_bulk: Mapped[bool | None] = mapped_column(Boolean, default=False)
    # The quote word that tagged the message when it was read (ingest.reading; subject before
    # files); NULL: not a quote.
    quote_term: Mapped[str | None] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(DateTime)
    # Set once the message's document is committed to the search index.
    indexed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)

    copies: Mapped[list[MessageCopy]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="MessageCopy.id"
    )
    participants: Mapped[list[ParticipantRow]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="ParticipantRow.id"
    )
    attachments: Mapped[list[AttachmentRow]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="AttachmentRow.id"
    )

    @property
    def short_id(self) -> str:
        return self.sha256[:SHORT_ID_LENGTH]


class MessageCopy(Base):
    """Where a message was found: account and folder (one row per distinct place). On IMAP the
    place is the account and the server's own folder name (``mailbox``), the message there is
    (``uidvalidity``, ``uid``): see ``ingest.folders``."""

    __tablename__ = "message_copies"
    __table_args__ = (
        UniqueConstraint("message_id", "account", "mailbox", name="uq_message_copies_place"),
        Index("ix_message_copies_imap", "account", "mailbox", "uidvalidity", "uid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    account: Mapped[str] = mapped_column(Text)
    # The folder as people read it (IMAP: decoded); shown and searched.
    folder: Mapped[str] = mapped_column(Text)
    # The source's own name for the folder: on IMAP the server's (modified UTF-7), else ``folder``.
    mailbox: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(Text)
    found_at: Mapped[datetime] = mapped_column(DateTime)
    # IMAP copies only: the UID and the UIDVALIDITY it belongs to (kept when the folder's
    # UIDVALIDITY changes, until a re-scan finds the message again), the flags and INTERNALDATE
    # (naive UTC) the server reported; Gmail labels (IMAP's X-GM-LABELS, or the X-Gmail-Labels of a
    # Google Takeout mbox, whose copy is the file's folder: labels are not places a message was found).
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    flags: Mapped[list | None] = mapped_column(JSON)
    internaldate: Mapped[datetime | None] = mapped_column(DateTime)
    labels: Mapped[list | None] = mapped_column(JSON)

    message: Mapped[Message] = relationship(back_populates="copies")


class ParticipantRow(Base):
    """An address that took part in a message, with its role (from, to, cc …)."""

    __tablename__ = "participants"
    __table_args__ = (
        Index("ix_participants_email", "email"),
        Index("ix_participants_domain", "domain"),
        Index("ix_participants_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(Text)

    message: Mapped[Message] = relationship(back_populates="participants")


class AttachmentRow(Base):
    """An attachment's name, type and size (the bytes stay in the raw message)."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_message", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    # How reading its text went ("ok", "empty", "skipped: …", "failed: …", "truncated: …"; see
    # ingest.extract); NULL for rows stored before attachment text was read.
    text_status: Mapped[str | None] = mapped_column(Text)
    # Named or titled as a quote (ingest.reading's quote_files).
    is_quote: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    message: Mapped[Message] = relationship(back_populates="attachments")


class FolderState(Base):
    """The fetch cursor of one IMAP folder: everything up to ``last_uid`` under ``uidvalidity``
    is stored. Keyed by the server's raw folder name (modified UTF-7); ``name`` is for people."""

    __tablename__ = "folder_states"
    __table_args__ = (UniqueConstraint("account", "folder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, default="")
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    uidnext: Mapped[int | None] = mapped_column(BigInteger)
    highestmodseq: Mapped[int | None] = mapped_column(BigInteger)
    exists: Mapped[int] = mapped_column(Integer, default=0)
    # UIDs that SEARCH listed but FETCH did not return; retried on every pass.
    gaps: Mapped[list] = mapped_column(JSON, default=list)
    uidvalidity_changes: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
