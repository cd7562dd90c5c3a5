"""Turn one message's raw bytes into a ParsedMessage: the only module that touches mail-parser."""

from __future__ import annotations

import email
import email.errors
import email.message
import email.parser
import email.policy
import email.utils
import logging
import re
from datetime import datetime, timedelta, timezone

import mailparser
from mailparser.exceptions import MailParserRecursionError

from .body import MAX_TEXT_CHARS, assemble_text, collect
from .bulky import elide_large_bodies, restore_elided
from .charsets import decode_bytes
from .decoding import HEADER_LINE, Context, clean_line, decode_words, header_map, header_text, walk
from .errors import ParseError
from .message import Address, Attachment, ParsedMessage, Participant

__all__ = ["MAX_FIELD_BYTES", "MAX_TEXT_CHARS", "parse_message"]

log = logging.getLogger(__name__)
# mail-parser logs a WARNING for every multipart container it walks ("Email content 'mixed'
# not handled") and an ERROR for each header it cannot decode, which this module decodes
# itself: noise, not defects. Our own defects list reports the real problems.
logging.getLogger("mailparser").setLevel(logging.CRITICAL)

_HEADER_SCAN_LIMIT = 256 * 1024
#: A header field longer than this is cut for parsing (RFC 5322 lines end at 998 characters; a
#: To: of about 1,500 addresses fits): the raw bytes keep it whole.
MAX_FIELD_BYTES = 64 * 1024
_BASE64_LINE = re.compile(rb"^[A-Za-z0-9+/]{60,}={0,2}\r?\n", re.M)

_BOM = b"\xef\xbb\xbf"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_HEADER_FIELD = re.compile(rb"[A-Za-z][A-Za-z0-9-]*:[ \t]")
# A line in the header block that is neither a field nor a continuation.
_STRAY_HEADER_LINE = re.compile(rb"^(?![!-9;-~]+[ \t]*:|[ \t]|\r?$)", re.M)
_UNKNOWN_ZONE = re.compile(r"\s-0000\b")
_MSG_ID = re.compile(r"<([^<>]*)>")
_BAD_ADDRESS_CHARS = re.compile(r"[\s<>(),;:\"\\\x00-\x1f\x7f]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

_ADDRESS_HEADERS = (
    ("from", "From", "from"),
    ("sender", "Sender", "sender"),
    ("reply-to", "Reply-To", "reply_to"),
    ("to", "To", "to"),
    ("cc", "Cc", "cc"),
    ("bcc", "Bcc", "bcc"),
)
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


def parse_message(raw: bytes, *, parser: str = "mail-parser") -> ParsedMessage:
    """Parse one message's exact bytes into a ParsedMessage (the tree built by ``parser``, one
    of :data:`ingest.message.PARSERS`).

    Tolerates a leading UTF-8 BOM, blank lines and an mbox ``From `` envelope
    line. Damage inside a message (missing boundaries, broken encoded-words,
    wrong charsets, bad dates) is recovered where possible and listed in
    ``defects``. A header field longer than :data:`MAX_FIELD_BYTES` is cut for
    parsing (noted; the raw bytes keep it). A message the parser cannot finish
    is still read as far as it can be (:func:`_read_partially`): the headers that
    parse and the decoded text of its body, with ``partial`` saying why.

    Raises:
        ParseError: the bytes are not a message at all: empty input, binary
            data (Outlook .msg, a header block full of NUL bytes), or text whose
            first line is not a header field.
    """
    defects: list[str] = []
    # A 150 MB scan is not read by the parser: large base64 bodies are cut out, their sizes kept.
    data, elided = elide_large_bodies(_cut_long_fields(_prepare(raw, defects), defects))
    try:
        return _parse(data, list(defects), elided, parser)
    except MemoryError:
        raise
    except Exception as exc:  # RecursionError deep in the stdlib, a parser bug: read what can be read
        log.debug("message not fully parsed, read partially", exc_info=True)
        return _read_partially(data, defects, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _parse(data: bytes, defects: list[str], elided: list[int], parser: str) -> ParsedMessage:
    msg, headers_only = _parse_tree(data, defects, parser)
    if headers_only:
        return _read_partially(data, defects, "MIME nesting deeper than Python's parser can follow")
    ctx = Context(msg, defects)
    headers = header_map(msg)

    segments: list[tuple[str, str]] = []
    attachments: list[Attachment] = []
    collect(msg, 0, ctx, segments, attachments)
    text, is_html_only, html_text = assemble_text(segments, ctx)
    _tree_defects(msg, ctx)
    return _with_headers(headers, ctx, text=text, is_html_only=is_html_only, html_text=html_text,
                         attachments=tuple(restore_elided(attachments, elided)))


def _with_headers(headers: dict[str, list[str]], ctx: Context, **body: object) -> ParsedMessage:
    """The message with what its headers say and ``body`` (text and attachments)."""
    subject = clean_line(decode_words(header_text(headers, "subject", "Subject", ctx), ctx, "Subject"))
    date, date_offset, date_source = _message_date(headers, ctx)
    return ParsedMessage(
        message_id=_first_id(header_text(headers, "message-id", "Message-ID", ctx)),
        subject=subject,
        participants=tuple(_read_participants(headers, ctx)),
        date=date,
        date_offset=date_offset,
        date_source=date_source,
        in_reply_to=_first_id(header_text(headers, "in-reply-to", "In-Reply-To", ctx)),
        references=_all_ids(headers, ctx),
        defects=tuple(dict.fromkeys(ctx.defects)),
        is_bulk=_is_bulk_mail(headers),
        **body,  # type: ignore[arg-type]
    )


def _read_participants(headers: dict[str, list[str]], ctx: Context) -> list[Participant]:
    """The participants; when the address parser gives up on a field (it recurses once per nested
    comment: thousands of unbalanced parentheses exhaust the stack), every other field still counts."""
    try:
        return _participants(headers, ctx)
    except RecursionError:
        pass
    participants: list[Participant] = []
    for key, label, _ in _ADDRESS_HEADERS:
        for value in headers.get(key, ()):
            try:
                participants += _participants({key: [value]}, ctx)
            except RecursionError:
                ctx.note(f"{label}: too deeply nested to read; its addresses are left out")
    return participants


#: Fields holding lists of addresses, cut after a whole address: those read as participants and
#: the transport's own.
_ADDRESS_FIELDS = frozenset({key for key, _, _ in _ADDRESS_HEADERS}
                            | {"resent-to", "resent-cc", "resent-from", "delivered-to", "return-path"})


def _cut_long_fields(data: bytes, defects: list[str]) -> bytes:
    """``data`` with every header field longer than :data:`MAX_FIELD_BYTES` cut at a line break
    (after an address where it can), so that no header can make parsing fail or crawl."""
    head_end = _HEADER_END.search(data)
    head = data[: head_end.start() if head_end else len(data)]
    if len(head) <= MAX_FIELD_BYTES:
        return data
    out: list[bytes] = []
    field: list[bytes] = []

    def flush() -> None:
        size = sum(map(len, field))
        if size > MAX_FIELD_BYTES:
            kept, room = [], MAX_FIELD_BYTES
            for line in field:
                if len(line) > room:
                    break
                kept.append(line)
                room -= len(line)
            name = field[0].split(b":", 1)[0].decode("ascii", "replace")
            is_addresses = name.strip().lower() in _ADDRESS_FIELDS
            if not kept:  # one long line: cut it (after an address in an address field)
                line = field[0][:MAX_FIELD_BYTES]
                kept = [line[: line.rfind(b",") + 1 or len(line)] if is_addresses else line]
            while is_addresses and len(kept) > 1 and not kept[-1].rstrip().endswith(b","):
                kept.pop()  # end after a whole address, not inside one
            kept[-1] = kept[-1].rstrip().rstrip(b",") + (b"\r\n" if field[0].endswith(b"\r\n") else b"\n")
            defects.append(f"{name}: header of {size:,} bytes cut to {sum(map(len, kept)):,} for parsing")
            out.extend(kept)
        else:
            out.extend(field)
        field.clear()

    for line in head.splitlines(keepends=True):
        if field and not line.startswith((b" ", b"\t")):
            flush()
        field.append(line)
    flush()
    return b"".join(out) + data[len(head):]


def _read_partially(data: bytes, defects: list[str], reason: str) -> ParsedMessage:
    """What can be read of a message the parser could not finish: each header that parses on its
    own, and the body's bytes decoded as text (charset detected), without lines of base64."""
    head_end = _HEADER_END.search(data)
    head, body = (data[: head_end.start()], data[head_end.end():]) if head_end else (data, b"")
    try:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + b"\n\n", headersonly=True)
    except Exception:  # nothing of the header block parses: the text still counts
        msg = email.message.Message()
    ctx = Context(msg, [*defects, f"not fully parsed ({reason}); its headers and raw text are read instead"])
    headers = header_map(msg)
    charset = msg.get_content_charset() if not msg.is_multipart() else None
    text = decode_bytes(_BASE64_LINE.sub(b"", body), charset, ctx.hint).text
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").splitlines()).strip()
    return _with_headers(headers, ctx, text=text[:MAX_TEXT_CHARS], is_html_only=False, attachments=(),
                         partial=reason)


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
    if not HEADER_LINE.match(first_line):
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
        if HEADER_LINE.match(line) or line[:1] in (b" ", b"\t") or line.startswith(b"From "):
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


def _parse_tree(data: bytes, defects: list[str], parser: str) -> tuple[email.message.Message, bool]:
    """The message tree and whether it holds headers only (body nested too deep to parse).

    ``parser`` first (mail-parser, or the stdlib parser with mail-parser's own settings); the
    stdlib parser with the modern policy when that fails.
    """
    try:
        if parser == "stdlib":
            return email.message_from_bytes(data), False  # what mail-parser's from_bytes calls
        return mailparser.parse_from_bytes(data).message, False
    except (MailParserRecursionError, RecursionError):
        return _parse_headers_only(data, defects), True
    except Exception as exc:
        # Its post-processing crashes on some damaged mail (an AttributeError on a
        # missing epilogue) that the stdlib parser reads fine.
        log.debug("%s failed (%s: %s); using the stdlib parser", parser, type(exc).__name__, exc)
    try:
        return email.message_from_bytes(data, policy=email.policy.default), False
    except RecursionError:
        return _parse_headers_only(data, defects), True
    except (ValueError, TypeError, LookupError, email.errors.MessageError) as exc:
        raise ParseError(f"unreadable message: {exc}") from exc


def _parse_headers_only(data: bytes, defects: list[str]) -> email.message.Message:
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data, headersonly=True)


def _tree_defects(msg: email.message.Message, ctx: Context) -> None:
    for part, _ in walk(msg):
        for defect in part.defects:
            name = type(defect).__name__
            if name in _DEFECT_TEXT:
                text = _DEFECT_TEXT[name]
            else:
                text = _CAMEL.sub(" ", name.removesuffix("Defect")).lower()
            if text:
                ctx.note(text)


# --- identifiers -------------------------------------------------------------


def _first_id(value: str) -> str | None:
    match = _MSG_ID.search(value)
    ident = (match.group(1) if match else value).strip()
    return ident or None


def _all_ids(headers: dict[str, list[str]], ctx: Context) -> tuple[str, ...]:
    ids: list[str] = []
    for index in range(len(headers.get("references", ()))):
        value = header_text(headers, "references", "References", ctx, index)
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


def _participants(headers: dict[str, list[str]], ctx: Context) -> list[Participant]:
    participants: list[Participant] = []
    for key, label, role in _ADDRESS_HEADERS:
        for index in range(len(headers.get(key, ()))):
            value = header_text(headers, key, label, ctx, index)
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
                display = clean_line(decode_words(name, ctx, label)).strip('"').strip()
                found.append(Address(display, normalised))
            if dropped:
                found += _salvage_addresses(value, {a.email for a in found}, ctx, label)
            participants += [Participant(role, address) for address in found]
    return participants


# An address plainly there in a field the address parser gave up on: "<joe@acme.com>" or a bare one.
_UNBALANCED = str.maketrans({"(": " ", ")": " ", '"': " "})
_PLAIN_ADDRESS = re.compile(r"<([^<>\s]+@[^<>\s]+)>|([^\s<>(),;:\"']+@[^\s<>(),;:\"']+\.[^\s<>(),;:\"']+)")


def _salvage_addresses(value: str, known: set[str], ctx: Context, label: str) -> list[Address]:
    """The addresses plainly written in a field with an unbalanced parenthesis or quote (which
    the parser reads as one comment and drops): a message from such a sender must still link."""
    salvaged = []
    for match in _PLAIN_ADDRESS.finditer(value):
        normalised = _normalise_email(match.group(1) or match.group(2), ctx, label)
        if normalised is None or normalised in known:
            continue
        known.add(normalised)
        name = value[:match.start()].split(",")[-1] if match.group(1) else ""
        name = " ".join(clean_line(decode_words(name, ctx, label)).translate(_UNBALANCED).split())
        salvaged.append(Address(name, normalised))
        ctx.note(f"{label}: address {normalised} read from a malformed field")
    return salvaged


def _normalise_email(addr: str, ctx: Context, label: str) -> str | None:
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
    headers: dict[str, list[str]], ctx: Context
) -> tuple[datetime | None, int | None, str | None]:
    """Date, offset and source: the Date header, else the earliest Received date, else nothing."""
    dates = headers.get("date", [])
    for index in range(len(dates)):
        value = header_text(headers, "date", "Date", ctx, index).strip()
        parsed = _parse_date(value, ctx.now)
        if parsed is not None:
            when, offset, has_zone = parsed
            if not has_zone:
                ctx.note("Date has no time zone; UTC assumed")
            return when, offset, "date"
        ctx.note(f"unusable Date header {value[:60]!r}")
    received = []
    for index in range(len(headers.get("received", ()))):
        value = header_text(headers, "received", "Received", ctx, index)
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
