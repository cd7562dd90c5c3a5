"""A message's HTML body and its inline parts (``cid:`` images), read from the raw bytes for display.

The parser (``parse.py`` and ``body.py``) reads a message for archiving and search and keeps only its text; a
reader who wants to see an HTML mail as it was sent needs its HTML part, which this module finds
again in the stored bytes. It only reads: sanitizing the HTML is the front end's job.
"""

from __future__ import annotations

import email
import email.message
import email.policy
from dataclasses import dataclass

from .charsets import decode_bytes

#: Parts looked at before giving up on a message (a bomb of 10,000 parts is not worth showing).
_MAX_PARTS = 2000


@dataclass(frozen=True)
class InlinePart:
    content_type: str
    data: bytes


def _walk(raw: bytes):
    try:
        root = email.message_from_bytes(raw, policy=email.policy.compat32)
    except (RecursionError, ValueError):
        return
    for number, part in enumerate(root.walk()):
        if number >= _MAX_PARTS:
            return
        yield part


def _is_attachment(part: email.message.Message) -> bool:
    return part.get_content_disposition() == "attachment"


def html_body(raw: bytes) -> str | None:
    """The first HTML part of the message that is not an attachment, decoded; None when it has none."""
    for part in _walk(raw):
        if part.get_content_type() != "text/html" or _is_attachment(part) or part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        try:
            charset = part.get_content_charset()
        except (ValueError, LookupError):
            charset = None
        return decode_bytes(data, charset).text
    return None


def inline_part(raw: bytes, content_id: str) -> InlinePart | None:
    """The part whose Content-ID is ``content_id`` (without angle brackets), for ``cid:`` links."""
    wanted = content_id.strip().strip("<>")
    if not wanted:
        return None
    for part in _walk(raw):
        if part.is_multipart():
            continue
        cid = str(part.get("content-id", "")).strip().strip("<>")
        if cid and cid == wanted:
            data = part.get_payload(decode=True)
            return InlinePart(part.get_content_type(), data if isinstance(data, bytes) else b"")
    return None


def attachment_data(raw: bytes, number: int) -> tuple[str, str, bytes] | None:
    """The ``number``-th attachment (0-based, in the order the parser lists them) as (file name,
    content type, bytes), read by the parser itself so that numbers agree; None when out of range."""
    from .parse import parse_message

    attachments = parse_message(raw).attachments
    if not 0 <= number < len(attachments):
        return None
    found = attachments[number]
    return found.filename, found.content_type, found.data
