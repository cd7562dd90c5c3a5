"""Message rows: a parsed message (or one that failed to parse), its participants, folder copies
and variants, and the marks of what is indexed. Functions take a Session and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from .message import ParsedMessage, RawItem
from .models import AttachmentRow, Message, MessageCopy, ParticipantRow
from .reading import Reading

__all__ = ["KEY_BYTES", "add_copy", "fit_key", "mark_variants", "record_reading", "save_participants",
           "set_indexed_at", "store_failed", "store_message"]

log = logging.getLogger(__name__)

#: Message-ID and In-Reply-To are kept up to this many characters (RFC 5322's line limit).
MAX_HEADER_ID = 998
#: Values kept in indexed columns (Message-IDs, addresses, domains) are cut to this many bytes of
#: UTF-8, whatever the database: PostgreSQL refuses an index entry over about 2,700 bytes, and a
#: batch must never abort over one hostile header. Real values are far shorter; a cut is
#: recorded as a defect of its message.
KEY_BYTES = 1000
#: Ids per IN list in one statement: far below every database's bound-parameter limit.
IN_CHUNK = 500


def store_message(
    session: Session, item: RawItem, sha: str, parsed: ParsedMessage, reading: Reading, now: datetime
) -> Message:
    """Add the row of a new message that parsed, with its attachments' rows (in the parser's
    order) and what ``reading`` found of them; its participants follow with
    :func:`save_participants` once it has an id.

    A message without a usable date gets the server's INTERNALDATE (IMAP), else ``now``."""
    date, offset, source = parsed.date, parsed.date_offset, parsed.date_source
    if (date is None or source == "import") and item.internaldate is not None:
        date, offset, source = item.internaldate, 0, "server"
    sender = parsed.sender
    defects = list(parsed.defects)
    message = Message(
        sha256=sha,
        size=len(item.data),
        status="ok",
        # Read partially (the parser could not finish it): stored, linked and indexed, and kept
        # reported as a parse problem.
        error=f"read partially: {parsed.partial}" if parsed.partial else None,
        header_message_id=(parsed.message_id or None) and fit_key(parsed.message_id[:MAX_HEADER_ID], "Message-ID",
                                                                  defects),
        subject=parsed.subject,
        from_name=sender.name if sender else "",
        from_email=fit_key(sender.email, "the sender's address", defects) if sender else "",
        date=date.replace(tzinfo=None) if date else now,
        date_offset=offset,
        date_source=source or "import",
        in_reply_to=parsed.in_reply_to and fit_key(parsed.in_reply_to[:MAX_HEADER_ID], "In-Reply-To", defects),
        references=list(parsed.references),
        is_html_only=parsed.is_html_only,
        defects=defects,
        is_bulk=parsed.is_bulk,
        stored_at=now,
    )
    message.copies = []  # new: known empty, so adding a copy needs no lookup
    message.attachments = [
        AttachmentRow(filename=a.filename, content_type=a.content_type, size=a.size) for a in parsed.attachments
    ]
    record_reading(message, reading)
    session.add(message)
    return message


def record_reading(message: Message, reading: Reading) -> None:
    """Keep on ``message``'s rows what reading it found: its quote term, which attachments are
    quotes, how reading each one's text went (a re-index reads the message again and records
    it anew)."""
    if message.quote_term != reading.quote_term:
        message.quote_term = reading.quote_term
    files = set(reading.quote_files)
    for row in message.attachments:
        if row.is_quote is not (row.filename in files):
            row.is_quote = row.filename in files
    rows = message.attachments
    if len(rows) != len(reading.text_statuses):  # not read, or rows of another parser version
        return
    for row, status in zip(rows, reading.text_statuses, strict=True):
        if row.text_status != status:
            row.text_status = status


def store_failed(session: Session, item: RawItem, sha: str, now: datetime, reason: str) -> Message:
    """Add the row of a message that could not be parsed: kept (its raw bytes are stored) with
    the reason, so that it is reported and never lost."""
    message = Message(
        sha256=sha, size=len(item.data), status="failed", error=reason,
        date=now, date_source="import", stored_at=now, references=[], defects=[], copies=[],
    )
    session.add(message)
    log.warning("stored %s as failed: %s", item.origin, reason)
    return message


def save_participants(session: Session, messages: Sequence[tuple[Message, ParsedMessage]]) -> None:
    """Insert the participant rows of new messages (which must have ids: flush first) in one
    statement: as ORM objects they were a tenth of an import's time, and nothing reads them back."""
    rows = []
    for message, parsed in messages:
        defects: list[str] = []
        for p in parsed.participants:
            rows.append({"message_id": message.id, "role": p.role, "name": p.address.name,
                         "email": fit_key(p.address.email, f"a {p.role} address", defects),
                         "domain": fit_key(p.address.domain, f"a {p.role} domain", defects)})
        if defects:
            message.defects = [*message.defects, *dict.fromkeys(defects)]
    if rows:
        session.execute(insert(ParticipantRow), rows)


def fit_key(value: str, what: str, defects: list[str]) -> str:
    """``value`` cut to :data:`KEY_BYTES` bytes of UTF-8 (at a character boundary); a cut is
    added to ``defects`` in words ("a to address of 5000 characters kept as its first 1000")."""
    if len(value) <= KEY_BYTES // 4:  # no character takes more than four bytes
        return value
    data = value.encode("utf-8", "surrogatepass")
    if len(data) <= KEY_BYTES:
        return value
    cut = data[:KEY_BYTES].decode("utf-8", "ignore")
    note = f"{what} of {len(value)} characters kept as its first {len(cut)}"
    if note not in defects:
        defects.append(note)
    return cut


def mark_variants(session: Session, new: Sequence[Message]) -> None:
    """Mark messages that share a Message-ID header but differ in bytes (stored before, or among
    ``new``) as variants, with one query per :data:`IN_CHUNK` headers."""
    by_header: dict[str, list[Message]] = {}
    for message in new:
        if message.header_message_id:
            by_header.setdefault(message.header_message_id, []).append(message)
    headers = list(by_header)
    with session.no_autoflush:
        for start in range(0, len(headers), IN_CHUNK):
            for other in session.scalars(
                select(Message).where(Message.header_message_id.in_(headers[start:start + IN_CHUNK]))
            ):
                by_header[other.header_message_id].append(other)
    for group in by_header.values():
        if len({m.sha256 for m in group}) > 1:
            for message in group:
                message.is_variant = True


def add_copy(session: Session, message: Message, account: str, item: RawItem, now: datetime) -> MessageCopy:
    """Record that ``message`` was found in ``item``'s folder of ``account`` (once per folder,
    by the source's own name for it); an IMAP copy follows the server's current UIDVALIDITY,
    UID, flags, INTERNALDATE and labels, another copy gathers the labels its items carry."""
    mailbox = item.mailbox or item.folder
    copy = next((c for c in message.copies if c.account == account and c.mailbox == mailbox), None)
    if copy is None and message.stored_at != now:  # stored by an earlier run: look in the database
        copy = session.scalar(
            select(MessageCopy).where(
                MessageCopy.message_id == message.id,
                MessageCopy.account == account,
                MessageCopy.mailbox == mailbox,
            )
        )
    if copy is None:
        copy = MessageCopy(account=account, folder=item.folder, mailbox=mailbox, origin=item.origin, found_at=now)
        message.copies.append(copy)
    if item.uid is not None:
        copy.folder = item.folder
        copy.uidvalidity = item.uidvalidity
        copy.uid = item.uid
        copy.origin = item.origin
        copy.flags = list(item.flags)
        copy.internaldate = item.internaldate.replace(tzinfo=None) if item.internaldate else None
        copy.labels = list(item.labels) or None
    elif item.labels:  # an mbox from Google Takeout: the labels the message has there
        labels = list(dict.fromkeys([*(copy.labels or []), *item.labels]))
        if labels != copy.labels:
            copy.labels = labels
    return copy


def set_indexed_at(session: Session, ids: Sequence[int], value: datetime | None) -> None:
    """Mark messages indexed at ``value`` (None: waiting to be indexed)."""
    for start in range(0, len(ids), IN_CHUNK):
        session.execute(
            update(Message).where(Message.id.in_(ids[start:start + IN_CHUNK])).values(indexed_at=value)
        )
