"""Splitting an mbox stream into messages: where an envelope line separates two messages (pure).

A ``From `` line separates messages when it stands at the start of the file or after a blank line
(mutt's, Thunderbird's and Python's ``mailbox`` rule, which takes Google Takeout's dateless
``From 1844347839636459560@xxx`` lines), or anywhere when it is an exact asctime envelope
(Thunderbird omits the blank line) -- and, either way, only when a plausible header block follows
it: a header field first, and a field every mail message has (``From:``, ``Date:``, ``Received:``,
``X-…`` …) before the header block ends. A body paragraph that an mboxo writer left unquoted
("From next Mon at 10:30 we move") is followed by prose, not headers, and stays text.

Each message is checked for the mistake this cannot catch, messages run together without any
``From `` line between them: a header block with a Message-ID and a sender or date after the
message's own headers, outside any forwarded-message part, is counted and reported with the
message (``MboxMessage.stray_headers``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from typing import BinaryIO

__all__ = ["MboxMessage", "gmail_labels", "is_envelope", "split_mbox", "starts_with_envelope"]

_BOM = b"\xef\xbb\xbf"
_BLANK_LINES = (b"\n", b"\r\n")
#: Lines after an envelope that are read to decide whether a header block follows it.
_LOOKAHEAD_LINES = 60
# An envelope line is short; reading more than this to sniff one would only load binary junk.
_HEAD_LIMIT = 4096

_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# After a blank line: "From <sender> [anything]" (Takeout writes no date), or Thunderbird's "From -".
_ENVELOPE = re.compile(rb"From (?:-[^\r\n]*|\S+(?:[ \t][^\r\n]*)?)\r?\n?")
# Envelopes this exact split even without a blank line before them: Thunderbird and other
# writers omit that line, and no writer leaves such a line unquoted inside a body.
_STRICT_ENVELOPE = re.compile(
    rb"From (?:-[ \t]*"
    rb"|\S+[ \t]+" + _DAY + rb",?[ \t]+" + _MONTH + rb"[ \t]+\d{1,2}[ \t]+\d{1,2}:\d{2}(?::\d{2})?"
    rb"(?:[ \t]+(?:[A-Z]{1,5}|[+-]\d{4}))?[ \t]+\d{4}(?:[ \t][^\r\n]*)?)"
    rb"\r?\n?"
)
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:")
_CONTINUATION = (b" ", b"\t")
# Fields that mark a header block as a mail message's (or an mbox writer's: X-GM-THRID, X-Mozilla-Status).
_MAIL_FIELDS = frozenset({
    b"from", b"to", b"cc", b"bcc", b"subject", b"date", b"message-id", b"received", b"return-path",
    b"delivered-to", b"envelope-to", b"reply-to", b"sender", b"in-reply-to", b"references", b"mime-version",
    b"content-type", b"content-transfer-encoding", b"dkim-signature", b"authentication-results",
    b"precedence", b"user-agent", b"status", b"thread-topic", b"thread-index", b"importance",
})
_MAIL_FIELD_PREFIXES = (b"x-", b"arc-", b"list-", b"content-", b"resent-")
# A part header declaring a message or its headers: the header block after it is legitimate.
_FORWARD_PART = re.compile(rb"^content-type:[ \t]*(?:message/|text/rfc822-headers)", re.I | re.M)
_LABELS_FIELD = b"x-gmail-labels"


@dataclass(frozen=True)
class MboxMessage:
    """One message of an mbox: its bytes (envelope line and the blank line before the next one
    left out, the rest byte-exact) and the header blocks found after its own headers that look
    like further messages run into it."""

    data: bytes
    stray_headers: int = 0


def is_envelope(line: bytes, after_blank: bool) -> bool:
    """Whether ``line`` has an envelope's form (a header block must still follow it)."""
    if not line.startswith(b"From "):
        return False
    if after_blank and _ENVELOPE.fullmatch(line) is not None:
        return True
    return _STRICT_ENVELOPE.fullmatch(line) is not None


def starts_with_envelope(stream: BinaryIO) -> bool:
    """Whether ``stream`` starts with an envelope line followed by a header block (rewinds it)."""
    lines = [stream.readline(_HEAD_LIMIT) for _ in range(_LOOKAHEAD_LINES + 1)]
    stream.seek(0)
    head = lines[0][len(_BOM):] if lines[0].startswith(_BOM) else lines[0]
    return is_envelope(head, True) and _header_block_follows(lines[1:])


def split_mbox(stream: Iterable[bytes]) -> Iterator[MboxMessage]:
    """Yield each message of an mbox stream, holding one message (and a few lines ahead) in memory.

    Text before the first separator is yielded as a message of its own unless it is only
    whitespace.
    """
    lines: list[bytes] = []
    in_preamble = True
    after_blank = True
    ahead: list[bytes] = []  # lines read past the current one, to look for a header block
    source = iter(stream)
    first = True
    while True:
        if ahead:
            line = ahead.pop(0)
        else:
            line = next(source, None)
            if line is None:
                break
        candidate = line[len(_BOM):] if first and line.startswith(_BOM) else line
        first = False
        if is_envelope(candidate, after_blank):
            while len(ahead) < _LOOKAHEAD_LINES and (more := next(source, None)) is not None:
                ahead.append(more)
                if more in _BLANK_LINES:
                    break
            if _header_block_follows(ahead):
                if not in_preamble:
                    yield _message(lines)
                elif any(part.strip() for part in lines):
                    yield MboxMessage(b"".join(lines))
                lines = []
                in_preamble = False
                after_blank = False
                continue
        lines.append(line)
        after_blank = line in _BLANK_LINES
    if not in_preamble:
        yield _message(lines)
    elif any(part.strip() for part in lines):
        yield MboxMessage(b"".join(lines))


def _header_block_follows(lines: list[bytes]) -> bool:
    """Whether ``lines`` start with a header block: a field first, and a mail field before the
    block ends (at a blank line, a line that is no field, or the lines read ahead)."""
    if not lines or not _FIELD.match(lines[0]):
        return False
    for line in lines:
        if line.startswith(_CONTINUATION):
            continue
        field = _FIELD.match(line)
        if field is None:
            return False
        name = field.group(1).lower()
        if name in _MAIL_FIELDS or name.startswith(_MAIL_FIELD_PREFIXES):
            return True
    return False


def _message(lines: list[bytes]) -> MboxMessage:
    # The blank line before the next envelope (or at the end of the file) belongs to the
    # mbox format, not to the message.
    if lines and lines[-1] in _BLANK_LINES:
        lines = lines[:-1]
    return MboxMessage(b"".join(lines), _stray_headers(lines))


def _stray_headers(lines: list[bytes]) -> int:
    """Header blocks after the message's own headers that carry a Message-ID and a From or Date
    field, except where a part header before them declares a forwarded message or headers."""
    found = 0
    block: list[bytes] = []  # the lines since the last blank one
    own_headers = True
    previous: list[bytes] = []
    for line in lines:
        if line in _BLANK_LINES or not line.strip():
            if own_headers:
                own_headers = False
            elif _is_message_headers(block) and not any(_FORWARD_PART.match(x) for x in previous):
                found += 1
            previous, block = block, []
            continue
        block.append(line)
    if not own_headers and _is_message_headers(block) and not any(_FORWARD_PART.match(x) for x in previous):
        found += 1
    return found


def _is_message_headers(block: list[bytes]) -> bool:
    if len(block) < 3 or not _FIELD.match(block[0]):
        return False
    names = set()
    for line in block:
        field = _FIELD.match(line)
        if field is not None:
            names.add(field.group(1).lower())
        elif not line.startswith(_CONTINUATION):
            return False
    return b"message-id" in names and bool(names & {b"from", b"date"})


def gmail_labels(data: bytes) -> tuple[str, ...]:
    """The labels of Gmail's ``X-Gmail-Labels`` header (Google Takeout) in a message's header
    block, decoded, in order; () when it has none."""
    end = data.find(b"\n\n")
    crlf = data.find(b"\r\n\r\n")
    if crlf >= 0 and (end < 0 or crlf < end):
        end = crlf
    head = data[: end if end >= 0 else len(data)]
    value: bytes | None = None
    for line in head.splitlines():
        if value is not None:
            if line.startswith(_CONTINUATION):
                value += b" " + line.strip()
                continue
            break
        field = _FIELD.match(line)
        if field is not None and field.group(1).lower() == _LABELS_FIELD:
            value = line[field.end():].strip()
    if not value:
        return ()
    text = value.decode("utf-8", "replace")
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (ValueError, LookupError, UnicodeError):
            pass
    # Comma-separated; a label holding a comma is quoted, as in CSV.
    labels = next(csv.reader([text], skipinitialspace=True), [])
    return tuple(dict.fromkeys(label.strip() for label in labels if label.strip()))
