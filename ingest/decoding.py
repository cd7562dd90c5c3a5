"""Decoding a message tree's header values, shared by the header and body steps of the parser: the
per-message context (defects, the charset the message declares), encoded-words, raw 8-bit bytes."""

from __future__ import annotations

import binascii
import email.message
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Iterator

from .charsets import codec_for, decode_bytes, is_multibyte

# Python's recursion limit is ~1000 frames and each MIME level costs a few;
# real mail nests a handful of levels, forwards of forwards perhaps a dozen.
MAX_DEPTH = 40
# A field name is printable ASCII without colon; obsolete syntax allows blanks before the colon.
HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")
# An encoded-word; the second alternative recovers one whose "?=" was lost at the end.
_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?(?:([^?]*)\?=|([^?\s]*)$)")
_BASE64_CHUNK_END = re.compile(r"=+")
_BASE64_JUNK = re.compile(r"[^A-Za-z0-9+/]")
_EW_CHARSET = re.compile(r"=\?([^?*\s]+)[?*]")


@dataclass
class Context:
    """Per-message state shared by the extraction steps."""

    msg: email.message.Message
    defects: list[str]
    text_chars: int = 0
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def note(self, defect: str) -> None:
        self.defects.append(defect)

    @cached_property
    def hint(self) -> str | None:
        """A charset the message declares somewhere, for bytes it forgot to label.

        Multi-byte CJK labels win over single-byte ones: a Chinese message that
        labels one part iso-8859-1 is still Chinese everywhere else.
        """
        labels: list[str] = []
        for value in _header_values(self.msg):
            labels.extend(_EW_CHARSET.findall(value))
        for part, _ in walk(self.msg):
            label = part.get_param("charset")
            if isinstance(label, str):
                labels.append(label)
        found = [c for c in map(codec_for, labels) if c is not None and c not in ("ascii", "utf_8")]
        for codec in found:
            if is_multibyte(codec):
                return codec
        return found[0] if found else None


def walk(msg: email.message.Message) -> Iterator[tuple[email.message.Message, int]]:
    """Parts depth-first with their depth, without recursion and without going past MAX_DEPTH."""
    stack = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        yield part, depth
        payload = part.get_payload() if part.is_multipart() else None
        if payload and depth < MAX_DEPTH:
            children = [c for c in payload if isinstance(c, email.message.Message)]
            stack.extend((child, depth + 1) for child in reversed(children))


def _header_values(msg: email.message.Message) -> Iterator[str]:
    for _, value in msg.raw_items():
        yield value if isinstance(value, str) else str(value)


def header_map(msg: email.message.Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        text = value if isinstance(value, str) else str(value)
        headers.setdefault(name.strip().lower(), []).append(text)
    return headers


def header_text(
    headers: dict[str, list[str]], key: str, label: str, ctx: Context, index: int = 0
) -> str:
    """One header's unfolded value as text, raw 8-bit bytes decoded; "" when absent."""
    values = headers.get(key)
    if not values or index >= len(values):
        return ""
    return raw_header_text(values[index], label, ctx)


def raw_header_text(value: str, label: str, ctx: Context) -> str:
    value = _FOLD.sub("", value)
    if value.isascii():
        return value
    # The stdlib keeps undeclared 8-bit header bytes as lone surrogates.
    data = value.encode("utf-8", "surrogateescape")
    decoded = decode_bytes(data, None, ctx.hint)
    if decoded.note:
        ctx.note(f"{label}: {decoded.note}")
    return decoded.text


def decode_words(text: str, ctx: Context, label: str) -> str:
    """Decode RFC 2047 encoded-words, joining adjacent ones so split characters survive."""
    if "=?" not in text:
        return text
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending_charset is not None:
            hint = None if pending.isascii() else ctx.hint
            decoded = decode_bytes(bytes(pending), pending_charset or None, hint)
            if decoded.note:
                ctx.note(f"{label}: {decoded.note}")
            out.append(decoded.text)
        pending = bytearray()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        # Whitespace between adjacent encoded-words is not part of the text.
        if pending_charset is None or (gap and not gap.isspace()):
            flush()
            out.append(gap)
        charset = match.group(1).split("*", 1)[0]
        if pending_charset is not None and charset.lower() != pending_charset.lower():
            flush()
        encoded = match.group(3) if match.group(3) is not None else match.group(4)
        if match.group(4) is not None:
            ctx.note(f"{label}: unterminated encoded-word")
        pending += _b_decode(encoded) if match.group(2) in "bB" else _q_decode(encoded, charset)
        pending_charset = charset
        position = match.end()
    flush()
    out.append(text[position:])
    return "".join(out)


def _b_decode(encoded: str) -> bytes:
    # Lenient: mailers drop padding, fold inside words and concatenate padded chunks.
    out = bytearray()
    for chunk in _BASE64_CHUNK_END.split(encoded):
        chunk = _BASE64_JUNK.sub("", chunk)
        if len(chunk) % 4 == 1:
            chunk = chunk[:-1]
        if chunk:
            out += binascii.a2b_base64(chunk + "=" * (-len(chunk) % 4))
    return bytes(out)


def _q_decode(encoded: str, charset: str) -> bytes:
    if encoded.isascii():
        return binascii.a2b_qp(encoded.encode("ascii"), header=True)
    # Raw 8-bit bytes inside the word (decoded with the header): give them back
    # in the word's own charset so they decode once, the way the sender meant.
    try:
        data = encoded.encode(codec_for(charset) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        data = encoded.encode("utf-8")
    return binascii.a2b_qp(data, header=True)


def clean_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text.replace("\x00", "")).strip()
