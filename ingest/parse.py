"""Turn one message's raw bytes into a ParsedMessage: the only module that touches mail-parser."""

from __future__ import annotations

import binascii
import email
import email.errors
import email.message
import email.parser
import email.policy
import email.utils
import html as _html
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Iterator

import mailparser
from bs4 import BeautifulSoup, ParserRejectedMarkup
from mailparser.exceptions import MailParserRecursionError

from .bulky import elide_large_bodies, restore_elided
from .charsets import codec_for, decode_bytes, is_multibyte
from .errors import ParseError
from .message import Address, Attachment, ParsedMessage, Participant

__all__ = ["MAX_TEXT_CHARS", "parse_message"]

log = logging.getLogger(__name__)
# mail-parser logs a WARNING for every multipart container it walks ("Email content 'mixed'
# not handled") and an ERROR for each header it cannot decode, which this module decodes
# itself: noise, not defects. Our own defects list reports the real problems.
logging.getLogger("mailparser").setLevel(logging.CRITICAL)

#: Longest body text returned; longer text is cut and a defect noted.
MAX_TEXT_CHARS = 2_000_000

# Python's recursion limit is ~1000 frames and each MIME level costs a few;
# real mail nests a handful of levels, forwards of forwards perhaps a dozen.
_MAX_DEPTH = 40
_HEADER_SCAN_LIMIT = 256 * 1024

_BOM = b"\xef\xbb\xbf"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A field name is printable ASCII without colon; obsolete syntax allows blanks before the colon.
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_HEADER_FIELD = re.compile(rb"[A-Za-z][A-Za-z0-9-]*:[ \t]")
# A line in the header block that is neither a field nor a continuation.
_STRAY_HEADER_LINE = re.compile(rb"^(?![!-9;-~]+[ \t]*:|[ \t]|\r?$)", re.M)
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")
# An encoded-word; the second alternative recovers one whose "?=" was lost at the end.
_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?(?:([^?]*)\?=|([^?\s]*)$)")
_BASE64_CHUNK_END = re.compile(r"=+")
_BASE64_JUNK = re.compile(r"[^A-Za-z0-9+/]")
_EW_CHARSET = re.compile(r"=\?([^?*\s]+)[?*]")
_UNKNOWN_ZONE = re.compile(r"\s-0000\b")
_MSG_ID = re.compile(r"<([^<>]*)>")
_BAD_ADDRESS_CHARS = re.compile(r"[\s<>(),;:\"\\\x00-\x1f\x7f]")
_FILENAME_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PATH_SEPARATORS = re.compile(r"[/\\]")
_META_CHARSET = re.compile(
    rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I
)
_LOOKS_HTML = re.compile(r"\A\s*<(?:!doctype\s+html|html|head|body)\b", re.I)
# A boundary line followed by a part header: where a body really splits.
_BOUNDARY_IN_BODY = re.compile(
    rb"^--([!-~][ -~]{0,199}?)[ \t]*\r?\n(?=[A-Za-z-]+[ \t]*:)", re.M
)
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=\s]+")
_TAG = re.compile(r"<[^>]*>")
_BREAK_TAG = re.compile(r"<(?:br|/p|/div|/tr|/li|/h[1-6])\b[^>]*>", re.I)
_HTML_SPACE = re.compile(r"[ \t\r\n\f\v\xa0]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

_ADDRESS_HEADERS = (
    ("from", "From", "from"),
    ("sender", "Sender", "sender"),
    ("reply-to", "Reply-To", "reply_to"),
    ("to", "To", "to"),
    ("cc", "Cc", "cc"),
    ("bcc", "Bcc", "bcc"),
)
_FORWARD_HEADERS = (
    ("from", "From"), ("date", "Date"), ("subject", "Subject"), ("to", "To"), ("cc", "Cc")
)
_FORWARDED_TYPES = frozenset({"message/rfc822", "message/global", "message/news"})
_HTML_DROP = frozenset({"script", "style", "noscript", "template", "title"})
_HTML_CELLS = frozenset({"td", "th"})
_HTML_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
})
_DEFECT_TEXT: dict[str, str | None] = {
    "StartBoundaryNotFoundDefect": "multipart boundary not found in body; body read as text",
    "CloseBoundaryNotFoundDefect": "closing multipart boundary missing",
    # Always accompanies a missing start boundary; saying it twice adds nothing.
    "MultipartInvariantViolationDefect": None,
    "MissingHeaderBodySeparatorDefect": "no blank line between headers and body",
}

# getaddresses() grew a strict mode (default on) in later 3.11/3.12 patch
# releases; it returns nothing for headers real mail is full of.
try:
    email.utils.getaddresses([""], strict=False)  # type: ignore[call-arg]
    _GETADDRESSES_KW: dict[str, bool] = {"strict": False}
except TypeError:
    _GETADDRESSES_KW = {}


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one message's exact bytes into a ParsedMessage.

    Tolerates a leading UTF-8 BOM, blank lines and an mbox ``From `` envelope
    line. Damage inside a message (missing boundaries, broken encoded-words,
    wrong charsets, bad dates) is recovered where possible and listed in
    ``defects``.

    Raises:
        ParseError: the bytes are not a message at all: empty input, binary
            data (Outlook .msg, a header block full of NUL bytes), or text whose
            first line is not a header field.
    """
    defects: list[str] = []
    data, elided = elide_large_bodies(_prepare(raw, defects))  # a 150 MB scan is not read by the parser
    msg, headers_only = _parse_tree(data, defects)
    ctx = _Context(msg, defects)
    headers = _header_map(msg)

    subject = _decode_words(_header_text(headers, "subject", "Subject", ctx), ctx, "Subject")
    subject = _clean_line(subject)
    participants = _participants(headers, ctx)
    date, date_offset, date_source = _message_date(headers, ctx)
    segments: list[tuple[str, str]] = []
    attachments: list[Attachment] = []
    if not headers_only:
        _collect(msg, 0, ctx, segments, attachments)
    text, is_html_only = _assemble_text(segments, ctx)
    _tree_defects(msg, ctx)

    return ParsedMessage(
        message_id=_first_id(_header_text(headers, "message-id", "Message-ID", ctx)),
        subject=subject,
        participants=tuple(participants),
        date=date,
        date_offset=date_offset,
        date_source=date_source,
        in_reply_to=_first_id(_header_text(headers, "in-reply-to", "In-Reply-To", ctx)),
        references=_all_ids(headers, ctx),
        text=text,
        is_html_only=is_html_only,
        attachments=tuple(restore_elided(attachments, elided)),
        defects=tuple(dict.fromkeys(ctx.defects)),
        is_bulk=_is_bulk_mail(headers),
    )


@dataclass
class _Context:
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
        for part, _ in _walk(self.msg):
            label = part.get_param("charset")
            if isinstance(label, str):
                labels.append(label)
        found = [c for c in map(codec_for, labels) if c is not None and c not in ("ascii", "utf_8")]
        for codec in found:
            if is_multibyte(codec):
                return codec
        return found[0] if found else None


# --- input checks and tree ---------------------------------------------------


#: A header block is binary when more than one byte in this many is NUL.
_NUL_SHARE = 50


def _prepare(raw: bytes, defects: list[str]) -> bytes:
    """Strip what may precede the headers and reject what is not a message."""
    if not raw or not raw.strip():
        raise ParseError("empty input")
    if raw.startswith(_OLE_MAGIC):
        raise ParseError("binary data: OLE compound file (Outlook .msg), not a MIME message")
    data = raw[len(_BOM):] if raw.startswith(_BOM) else raw
    stripped = data.lstrip(b" \t\r\n")
    if len(stripped) != len(data):
        defects.append("blank lines before the headers skipped")
        data = stripped
    if data.startswith(b"From "):
        end = data.find(b"\n")
        data = data[end + 1 :].lstrip(b"\r\n") if end >= 0 else b""
    if not data.strip():
        raise ParseError("no header block: only an mbox envelope line")
    end = data.find(b"\n")
    first_line = data[: end if end >= 0 else len(data)]
    if not _HEADER_LINE.match(first_line):
        if b"\x00" in first_line:
            raise ParseError("binary data: not a MIME message")
        raise ParseError("no header block: first line is not a header field")
    head_end = _HEADER_END.search(data, 0, _HEADER_SCAN_LIMIT)
    head = data[: head_end.start() if head_end else _HEADER_SCAN_LIMIT]
    if b"\x00" in head:
        # A few NULs in a header (a broken gateway, a tool's bug) are noise to drop; a header block
        # full of them is binary (UTF-16 text, a file that is no message).
        if head.count(b"\x00") * _NUL_SHARE > len(head):
            raise ParseError("binary data: NUL bytes in the header block")
        data = head.replace(b"\x00", b"") + data[len(head):]
        defects.append("NUL bytes in the header block removed")
    if _STRAY_HEADER_LINE.search(head):
        data = _rejoin_broken_headers(data, len(head), defects)
    return data


def _rejoin_broken_headers(data: bytes, head_length: int, defects: list[str]) -> bytes:
    """Turn lines that break a header in two (a long encoded-word wrapped without
    folding whitespace) into continuation lines, so the headers after them are
    not read as body. Only a line followed directly by a header field counts:
    anything else is where the body really starts.
    """
    lines = data[:head_length].splitlines(keepends=True)
    for index in range(1, len(lines) - 1):
        line = lines[index]
        # Misplaced envelope lines are the stdlib's to skip, not header text.
        if _HEADER_LINE.match(line) or line[:1] in (b" ", b"\t") or line.startswith(b"From "):
            continue
        if not _HEADER_FIELD.match(lines[index + 1]):
            break
        previous = lines[index - 1]
        inside_word = previous.rfind(b"=?") > previous.rfind(b"?=")
        if b":" in line and not inside_word:
            # A malformed field ("X Mailer: ..."), not the tail of the line before.
            continue
        lines[index] = b" " + line
        defects.append("header line broken without folding whitespace; rejoined")
    return b"".join(lines) + data[head_length:]


def _parse_tree(data: bytes, defects: list[str]) -> tuple[email.message.Message, bool]:
    """The message tree and whether it holds headers only (body nested too deep to parse).

    mail-parser first; the stdlib parser when mail-parser fails.
    """
    try:
        return mailparser.parse_from_bytes(data).message, False
    except MailParserRecursionError:
        return _parse_headers_only(data, defects), True
    except Exception as exc:
        # Its post-processing crashes on some damaged mail (an AttributeError on a
        # missing epilogue) that the stdlib parser reads fine.
        log.debug("mail-parser failed (%s: %s); using the stdlib parser", type(exc).__name__, exc)
    try:
        return email.message_from_bytes(data, policy=email.policy.default), False
    except RecursionError:
        return _parse_headers_only(data, defects), True
    except (ValueError, TypeError, LookupError, email.errors.MessageError) as exc:
        raise ParseError(f"unreadable message: {exc}") from exc


def _parse_headers_only(data: bytes, defects: list[str]) -> email.message.Message:
    defects.append("MIME nesting too deep; body not extracted")
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data, headersonly=True)


def _walk(msg: email.message.Message) -> Iterator[tuple[email.message.Message, int]]:
    """Parts depth-first with their depth, without recursion and without going past _MAX_DEPTH."""
    stack = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        yield part, depth
        payload = part.get_payload() if part.is_multipart() else None
        if payload and depth < _MAX_DEPTH:
            children = [c for c in payload if isinstance(c, email.message.Message)]
            stack.extend((child, depth + 1) for child in reversed(children))


def _header_values(msg: email.message.Message) -> Iterator[str]:
    for _, value in msg.raw_items():
        yield value if isinstance(value, str) else str(value)


def _tree_defects(msg: email.message.Message, ctx: _Context) -> None:
    for part, _ in _walk(msg):
        for defect in part.defects:
            name = type(defect).__name__
            if name in _DEFECT_TEXT:
                text = _DEFECT_TEXT[name]
            else:
                text = _CAMEL.sub(" ", name.removesuffix("Defect")).lower()
            if text:
                ctx.note(text)


# --- headers -----------------------------------------------------------------


def _header_map(msg: email.message.Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        text = value if isinstance(value, str) else str(value)
        headers.setdefault(name.strip().lower(), []).append(text)
    return headers


def _header_text(
    headers: dict[str, list[str]], key: str, label: str, ctx: _Context, index: int = 0
) -> str:
    """One header's unfolded value as text, raw 8-bit bytes decoded; "" when absent."""
    values = headers.get(key)
    if not values or index >= len(values):
        return ""
    return _raw_header_text(values[index], label, ctx)


def _raw_header_text(value: str, label: str, ctx: _Context) -> str:
    value = _FOLD.sub("", value)
    if value.isascii():
        return value
    # The stdlib keeps undeclared 8-bit header bytes as lone surrogates.
    data = value.encode("utf-8", "surrogateescape")
    decoded = decode_bytes(data, None, ctx.hint)
    if decoded.note:
        ctx.note(f"{label}: {decoded.note}")
    return decoded.text


def _decode_words(text: str, ctx: _Context, label: str) -> str:
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


def _clean_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text.replace("\x00", "")).strip()


# --- identifiers -------------------------------------------------------------


def _first_id(value: str) -> str | None:
    match = _MSG_ID.search(value)
    ident = (match.group(1) if match else value).strip()
    return ident or None


def _all_ids(headers: dict[str, list[str]], ctx: _Context) -> tuple[str, ...]:
    ids: list[str] = []
    for index in range(len(headers.get("references", ()))):
        value = _header_text(headers, "references", "References", ctx, index)
        found = [m.strip() for m in _MSG_ID.findall(value) if m.strip()]
        ids.extend(found if found else value.split())
    return tuple(ids)


def _is_bulk_mail(headers: dict[str, list[str]]) -> bool:
    """Whether the header fields (lower-case names) mark list or machine-sent mail. Never raises."""
    if headers.get("list-id") or headers.get("list-unsubscribe"):
        return True
    if any(v.strip().lower() in ("bulk", "list", "junk") for v in headers.get("precedence", ())):
        return True
    # RFC 3834: any value but "no" (parameters after ";" aside) means automatically submitted.
    return any(v.split(";")[0].strip().lower() not in ("", "no") for v in headers.get("auto-submitted", ()))


# --- participants ------------------------------------------------------------


def _participants(headers: dict[str, list[str]], ctx: _Context) -> list[Participant]:
    participants: list[Participant] = []
    for key, label, role in _ADDRESS_HEADERS:
        for index in range(len(headers.get(key, ()))):
            value = _header_text(headers, key, label, ctx, index)
            found: list[Address] = []
            dropped = False
            for name, addr in email.utils.getaddresses([value], **_GETADDRESSES_KW):
                if not addr.strip():
                    continue
                normalised = _normalise_email(addr, ctx, label)
                if normalised is None:
                    ctx.note(f"{label}: dropped malformed address {addr.strip()[:80]!r}")
                    dropped = True
                    continue
                display = _clean_line(_decode_words(name, ctx, label)).strip('"').strip()
                found.append(Address(display, normalised))
            if dropped:
                found += _salvage_addresses(value, {a.email for a in found}, ctx, label)
            participants += [Participant(role, address) for address in found]
    return participants


# An address plainly there in a field the address parser gave up on: "<joe@acme.com>" or a bare one.
_UNBALANCED = str.maketrans({"(": " ", ")": " ", '"': " "})
_PLAIN_ADDRESS = re.compile(r"<([^<>\s]+@[^<>\s]+)>|([^\s<>(),;:\"']+@[^\s<>(),;:\"']+\.[^\s<>(),;:\"']+)")


def _salvage_addresses(value: str, known: set[str], ctx: _Context, label: str) -> list[Address]:
    """The addresses plainly written in a field with an unbalanced parenthesis or quote (which
    the parser reads as one comment and drops): a message from such a sender must still link."""
    salvaged = []
    for match in _PLAIN_ADDRESS.finditer(value):
        normalised = _normalise_email(match.group(1) or match.group(2), ctx, label)
        if normalised is None or normalised in known:
            continue
        known.add(normalised)
        name = value[:match.start()].split(",")[-1] if match.group(1) else ""
        name = " ".join(_clean_line(_decode_words(name, ctx, label)).translate(_UNBALANCED).split())
        salvaged.append(Address(name, normalised))
        ctx.note(f"{label}: address {normalised} read from a malformed field")
    return salvaged


def _normalise_email(addr: str, ctx: _Context, label: str) -> str | None:
    # Brackets and blanks left over from unbalanced quotes elsewhere in the field.
    local, at, domain = addr.strip().strip("<>").strip().lower().rpartition("@")
    quoted = len(local) > 2 and local[0] == local[-1] == '"'
    if quoted and not _BAD_ADDRESS_CHARS.search(local[1:-1]):
        local = local[1:-1]
    if not at or not local or not domain or _BAD_ADDRESS_CHARS.search(local):
        return None
    if domain.startswith("[") and domain.endswith("]"):
        return f"{local}@{domain}"
    domain = domain.rstrip(".")
    if not domain or _BAD_ADDRESS_CHARS.search(domain) or "[" in domain or "]" in domain:
        return None
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            # IDNA 2003 refuses some labels that real mail uses; punycode each label anyway.
            domain = ".".join(
                label_ if label_.isascii() else "xn--" + label_.encode("punycode").decode("ascii")
                for label_ in domain.split(".")
            )
            ctx.note(f"{label}: domain is not valid IDNA")
    return f"{local}@{domain}"


# --- date --------------------------------------------------------------------


def _message_date(
    headers: dict[str, list[str]], ctx: _Context
) -> tuple[datetime | None, int | None, str | None]:
    """Date, offset and source: the Date header, else the earliest Received date, else nothing."""
    dates = headers.get("date", [])
    for index in range(len(dates)):
        value = _header_text(headers, "date", "Date", ctx, index).strip()
        parsed = _parse_date(value, ctx.now)
        if parsed is not None:
            when, offset, has_zone = parsed
            if not has_zone:
                ctx.note("Date has no time zone; UTC assumed")
            return when, offset, "date"
        ctx.note(f"unusable Date header {value[:60]!r}")
    received = []
    for index in range(len(headers.get("received", ()))):
        value = _header_text(headers, "received", "Received", ctx, index)
        if ";" in value:
            parsed = _parse_date(value.rpartition(";")[2].strip(), ctx.now)
            if parsed is not None:
                received.append(parsed)
    if received:
        when, offset, _ = min(received, key=lambda item: item[0])
        ctx.note(
            "date taken from the earliest Received header"
            if dates
            else "no Date header; date taken from Received"
        )
        return when, offset, "received"
    if not dates:
        ctx.note("no Date header")
    return None, None, None


def _parse_date(value: str, now: datetime) -> tuple[datetime, int, bool] | None:
    """(UTC time, original offset in minutes, whether a zone was given), or None when unusable."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    # RFC 5322: "-0000" is a UTC time from a sender not saying its own zone.
    has_zone = when.tzinfo is not None or _UNKNOWN_ZONE.search(value) is not None
    if not has_zone:
        when = when.replace(tzinfo=timezone.utc)
    offset = when.utcoffset() or timedelta(0)
    try:
        utc = when.astimezone(timezone.utc)
    except OverflowError:
        return None
    if utc.year < 1970 or utc > now + timedelta(days=366):
        return None
    return utc, int(offset.total_seconds()) // 60, has_zone


# --- body and attachments ----------------------------------------------------


def _collect(
    part: email.message.Message,
    depth: int,
    ctx: _Context,
    segments: list[tuple[str, str]],
    attachments: list[Attachment],
) -> None:
    """Append (kind, text) segments and attachments for ``part`` and everything in it.

    Kind is "plain", "html" (raw HTML, converted only if used) or "meta"
    (the header lines of a forwarded message).
    """
    if depth > _MAX_DEPTH:
        ctx.note(f"MIME nesting deeper than {_MAX_DEPTH} levels; inner parts skipped")
        return
    ctype = part.get_content_type()
    view = _mime_view(part, ctx)
    disposition = view.get_content_disposition()
    filename = _filename(view, ctx)
    if ctype in _FORWARDED_TYPES:
        if disposition == "attachment" or filename:
            attachments.append(Attachment(filename, ctype, _size(part)))
        inner = _forwarded_message(part)
        if inner is not None:
            segments.append(("meta", _forward_header(inner, ctx)))
            _collect(inner, depth + 1, ctx, segments, attachments)
        return
    if disposition == "attachment" or filename:
        attachments.append(_attachment(part, filename, ctype))
        return
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, email.message.Message)]
        if ctype == "multipart/alternative":
            _collect_alternative(children, depth, ctx, segments, attachments)
        else:
            for child in children:
                _collect(child, depth + 1, ctx, segments, attachments)
        return
    if ctype.startswith("multipart/"):
        _collect_unsplit(part, view, depth, ctx, segments, attachments)
        return
    if ctx.text_chars > MAX_TEXT_CHARS:
        return
    if ctype in ("text/plain", "text/html"):
        text = _part_text(part, view, ctx, ctype)
        segments.append(("plain" if ctype == "text/plain" else "html", text))
        ctx.text_chars += len(text)


def _collect_alternative(
    children: list[email.message.Message],
    depth: int,
    ctx: _Context,
    segments: list[tuple[str, str]],
    attachments: list[Attachment],
) -> None:
    """Use the first alternative with plain text; failing that, the first with HTML."""
    plain: list[tuple[str, str]] | None = None
    html: list[tuple[str, str]] | None = None
    for child in children:
        found: list[tuple[str, str]] = []
        _collect(child, depth + 1, ctx, found, attachments)
        if plain is None and any(kind == "plain" and text.strip() for kind, text in found):
            plain = found
        elif html is None and any(kind == "html" and text.strip() for kind, text in found):
            html = found
    segments.extend(plain if plain is not None else html or [])


def _collect_unsplit(
    part: email.message.Message,
    view: email.message.Message,
    depth: int,
    ctx: _Context,
    segments: list[tuple[str, str]],
    attachments: list[Attachment],
) -> None:
    """A multipart whose declared boundary never occurs: re-split or read the body as text."""
    data = _payload_bytes(part, ctx)
    match = _BOUNDARY_IN_BODY.search(data)
    if match is not None and b'"' not in match.group(1) and depth < _MAX_DEPTH:
        # The body is split by a different boundary (a folded or mangled
        # parameter): re-parse it with the boundary the body really uses.
        ctype = part.get_content_type().encode()
        head = b'Content-Type: %s; boundary="%s"\r\n\r\n' % (ctype, match.group(1))
        try:
            reparsed = email.message_from_bytes(head + data)
        except RecursionError:
            reparsed = None
        if reparsed is not None and reparsed.is_multipart() and reparsed.get_payload():
            ctx.note("multipart boundary differs from the declared one; recovered from the body")
            _collect(reparsed, depth + 1, ctx, segments, attachments)
            return
    text = _decode_part(data, view.get_content_charset(), ctx, "body")
    segments.append(("html" if _LOOKS_HTML.match(text) else "plain", text))
    ctx.text_chars += len(text)


def _forwarded_message(part: email.message.Message) -> email.message.Message | None:
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload[0] if payload and isinstance(payload[0], email.message.Message) else None
    # An encoded message/rfc822 (not allowed, but sent) is left unparsed by the stdlib.
    data = part.get_payload(decode=True)
    if not data or not _HEADER_LINE.match(data.lstrip()):
        return None
    try:
        return email.message_from_bytes(data.lstrip())
    except RecursionError:
        return None


def _forward_header(inner: email.message.Message, ctx: _Context) -> str:
    headers = _header_map(inner)
    lines = ["---------- Forwarded message ----------"]
    for key, label in _FORWARD_HEADERS:
        value = _clean_line(_decode_words(_header_text(headers, key, label, ctx), ctx, label))
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def _payload_bytes(part: email.message.Message, ctx: _Context) -> bytes:
    """A text part's body bytes with the transfer encoding undone, unless the label lies.

    Bodies labelled base64 that are plainly not base64 (the corpus has raw
    GB2312 text labelled so) would decode to noise; they are used as they are.
    """
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    if cte == "base64":
        # The stdlib keeps undeclared 8-bit body bytes as surrogates in _payload;
        # get_payload() without decode=True would decode them lossily.
        raw = part._payload
        if isinstance(raw, str):
            data = raw.encode("utf-8", "surrogateescape")
            if len(_BASE64_TEXT.sub(b"", data)) > len(data) // 100:
                ctx.note("body labelled base64 is not base64; used as it is")
                return data
    return part.get_payload(decode=True) or b""


def _part_text(
    part: email.message.Message, view: email.message.Message, ctx: _Context, ctype: str
) -> str:
    data = _payload_bytes(part, ctx)
    if not data:
        return ""
    charset = view.get_content_charset()
    if not charset and ctype == "text/html":
        meta = _META_CHARSET.search(data, 0, 4096)
        if meta is not None:
            charset = meta.group(1).decode("ascii")
    return _decode_part(data, charset, ctx, f"{ctype} part")


def _decode_part(data: bytes, charset: str | None, ctx: _Context, where: str) -> str:
    decoded = decode_bytes(data, charset, None if data.isascii() else ctx.hint)
    if decoded.note:
        ctx.note(f"{where}: {decoded.note}")
    return decoded.text


def _mime_view(part: email.message.Message, ctx: _Context) -> email.message.Message:
    """The part itself, or a header-only copy whose raw 8-bit MIME parameters are decoded.

    The stdlib turns undeclared 8-bit bytes in parameters (GB2312 file names)
    into replacement characters; decoding them first keeps the name.
    """
    raw = [(n, v) for n, v in part.raw_items() if n.lower() in ("content-type", "content-disposition")]
    if all(isinstance(v, str) and v.isascii() for _, v in raw):
        return part
    view = email.message.Message()
    for name, value in raw:
        view[name] = _raw_header_text(value if isinstance(value, str) else str(value), name, ctx)
    return view


def _filename(view: email.message.Message, ctx: _Context) -> str:
    value = view.get_param("filename", None, header="content-disposition")
    if value is None:
        value = view.get_param("name", None)
    if value is None:
        return ""
    if isinstance(value, tuple):
        charset, _language, text = value
        try:
            # RFC 2231 values arrive as Latin-1 stand-ins for the octets.
            name = _decode_part(text.encode("latin-1"), charset, ctx, "attachment name")
        except UnicodeEncodeError:
            name = text
    else:
        name = value
    return _safe_filename(_decode_words(name, ctx, "attachment name"))


def _safe_filename(name: str) -> str:
    """The base name only, without control characters: never usable as a path."""
    name = _FILENAME_CONTROL.sub("", name)
    name = _PATH_SEPARATORS.split(name)[-1].strip()
    return "" if name in (".", "..") else name[:255]


def _attachment(part: email.message.Message, filename: str, ctype: str) -> Attachment:
    """An attachment with its decoded bytes (a multipart one, oddly, keeps none)."""
    if part.is_multipart():
        return Attachment(filename, ctype, _size(part))
    data = part.get_payload(decode=True) or b""
    try:
        charset = part.get_content_charset()
    except (ValueError, LookupError):
        charset = None
    return Attachment(filename, ctype, len(data), data if isinstance(data, bytes) else b"", charset)


def _size(part: email.message.Message) -> int:
    if not part.is_multipart():
        data = part.get_payload(decode=True)
        return len(data) if data else 0
    try:
        payload = part.get_payload()
        return sum(len(c.as_bytes()) for c in payload if isinstance(c, email.message.Message))
    except (ValueError, LookupError, TypeError, RecursionError, email.errors.MessageError):
        return 0


def _assemble_text(segments: list[tuple[str, str]], ctx: _Context) -> tuple[str, bool]:
    has_plain = any(kind == "plain" and text.strip() for kind, text in segments)
    has_html = False
    pieces: list[str] = []
    total = 0
    for kind, text in segments:
        if total > MAX_TEXT_CHARS:
            break
        if kind == "html":
            text = _html_to_text(text)
            has_html = has_html or bool(text)
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        text = text.strip("\n").rstrip()
        if text.strip():
            pieces.append(text)
            total += len(text) + 2
    joined = "\n\n".join(pieces)
    if len(joined) > MAX_TEXT_CHARS:
        joined = joined[:MAX_TEXT_CHARS]
        ctx.note(f"text truncated at {MAX_TEXT_CHARS} characters")
    return joined, has_html and not has_plain


def _html_to_text(html: str) -> str:
    """Readable text of an HTML body: scripts and styles dropped, one line per block."""
    if not html.strip():
        return ""
    # NUL marks line breaks below; any NUL in the input is noise anyway.
    try:
        soup = BeautifulSoup(html.replace("\x00", ""), "html.parser")
    except ParserRejectedMarkup:
        # html.parser gives up on some broken declarations; tags out, text stays.
        text = _html.unescape(_TAG.sub(" ", _BREAK_TAG.sub("\n", html)))
        return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()
    # One pass over the tags: every extra find_all walks the whole tree again.
    for tag in soup.find_all(True):
        name = tag.name
        if name in _HTML_BLOCKS:
            tag.insert_before("\x00")
            tag.insert_after("\x00")
        elif name == "br":
            tag.replace_with("\x00")
        elif name in _HTML_CELLS:
            tag.insert_after(" ")
        elif name in _HTML_DROP:
            tag.decompose()
        if name == "pre":
            for string in tag.find_all(string=True):
                string.replace_with(string.replace("\n", "\x00"))
    lines: list[str] = []
    for line in _HTML_SPACE.sub(" ", soup.get_text()).split("\x00"):
        line = line.strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip()
