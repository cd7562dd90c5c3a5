"""The parts of one message a reader opens: its HTML body, an attachment, an inline image."""

from __future__ import annotations

from dataclasses import dataclass

import ingest

from ..archive import Archive
from .messages import MessageNotFoundError, find_visible_message
from .scope import Scope


@dataclass(frozen=True)
class MessagePart:
    filename: str
    content_type: str
    data: bytes


def _raw(archive: Archive, ident: str, scope: Scope | None) -> tuple[str, bytes]:
    with archive.sessions() as session:
        message = find_visible_message(session, ident, scope)
        short, sha = message.short_id, message.sha256
    return short, archive.raw.get(sha)


def read_html_body(archive: Archive, ident: str, *, scope: Scope | None = None) -> str | None:
    """The HTML part of the message ``ident`` names, unsanitized (None: it has none).
    Raises MessageNotFoundError or RawStoreError."""
    return ingest.html_body(_raw(archive, ident, scope)[1])


def read_attachment(archive: Archive, ident: str, number: int, *, scope: Scope | None = None) -> MessagePart:
    """The ``number``-th attachment (0-based, as ``read_message`` lists them) of the message
    ``ident`` names. Raises MessageNotFoundError (also for a number it has no attachment for)."""
    short, raw = _raw(archive, ident, scope)
    found = ingest.attachment_data(raw, number)
    if found is None:
        raise MessageNotFoundError(f"message {short} has no attachment {number + 1}")
    return MessagePart(*found)


def read_inline_part(archive: Archive, ident: str, content_id: str, *,
                     scope: Scope | None = None) -> MessagePart | None:
    """The part with Content-ID ``content_id`` (a ``cid:`` image) of the message ``ident`` names,
    or None. Raises MessageNotFoundError."""
    found = ingest.inline_part(_raw(archive, ident, scope)[1], content_id)
    return None if found is None else MessagePart("", found.content_type, found.data)
