"""The text and attachments of a parsed message tree: which parts are read as text (plain, HTML,
forwarded messages' headers), the attachments, and HTML turned into readable text."""

from __future__ import annotations

import email
import email.errors
import email.message
import html as _html
import re

from bs4 import BeautifulSoup, ParserRejectedMarkup

from .charsets import decode_bytes
from .decoding import (
    HEADER_LINE,
    MAX_DEPTH,
    Context,
    clean_line,
    decode_words,
    header_map,
    header_text,
    raw_header_text,
)
from .message import Attachment

#: Longest body text returned; longer text is cut and a defect noted.
MAX_TEXT_CHARS = 2_000_000

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
_FORWARD_HEADERS = (
    ("from", "From"), ("date", "Date"), ("subject", "Subject"), ("to", "To"), ("cc", "Cc")
)
_FORWARDED_TYPES = frozenset({"message/rfc822", "message/global", "message/news"})
#: Machine-readable parts read as text (RFC 3464 bounces, RFC 5965 abuse reports, RFC 8098 receipts).
_REPORT_TYPES = frozenset({"message/delivery-status", "message/feedback-report", "message/disposition-notification",
                           "message/global-delivery-status", "message/global-disposition-notification",
                           "text/rfc822-headers", "message/global-headers"})
_HTML_DROP = frozenset({"script", "style", "noscript", "template", "title"})
_HTML_CELLS = frozenset({"td", "th"})
_HTML_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
})


def collect(
    part: email.message.Message,
    depth: int,
    ctx: Context,
    segments: list[tuple[str, str]],
    attachments: list[Attachment],
) -> None:
    """Append (kind, text) segments and attachments for ``part`` and everything in it.

    Kind is "plain", "html" (raw HTML, converted only if used), "meta" (the header lines of a
    forwarded message) or "alt" (raw HTML of an alternative to the plain text read).
    """
    if depth > MAX_DEPTH:
        ctx.note(f"MIME nesting deeper than {MAX_DEPTH} levels; inner parts skipped")
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
            collect(inner, depth + 1, ctx, segments, attachments)
        return
    if disposition == "attachment" or filename:
        attachments.append(_attachment(part, filename, ctype))
        return
    if ctype in _REPORT_TYPES:
        text = _report_text(part, view, ctx)
        segments.append(("plain", text))
        ctx.text_chars += len(text)
        return
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, email.message.Message)]
        if ctype == "multipart/alternative":
            _collect_alternative(children, depth, ctx, segments, attachments)
        else:
            for child in children:
                collect(child, depth + 1, ctx, segments, attachments)
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
    ctx: Context,
    segments: list[tuple[str, str]],
    attachments: list[Attachment],
) -> None:
    """Use the first alternative with plain text; failing that, the first with HTML. The HTML of
    the alternatives not used is kept as "alt" segments: mailers often put a stub or a shorter
    text in the plain part."""
    plain: list[tuple[str, str]] | None = None
    html: list[tuple[str, str]] | None = None
    others: list[list[tuple[str, str]]] = []
    for child in children:
        found: list[tuple[str, str]] = []
        collect(child, depth + 1, ctx, found, attachments)
        if plain is None and any(kind == "plain" and text.strip() for kind, text in found):
            plain = found
        elif html is None and any(kind == "html" and text.strip() for kind, text in found):
            html = found
        else:
            others.append(found)
    if plain is None:
        segments.extend(html or [])
        return
    segments.extend(plain)
    for found in ([html] if html is not None else []) + others:
        segments.extend(("alt", text) for kind, text in found if kind in ("html", "alt") and text.strip())


def _collect_unsplit(
    part: email.message.Message,
    view: email.message.Message,
    depth: int,
    ctx: Context,
    segments: list[tuple[str, str]],
    attachments: list[Attachment],
) -> None:
    """A multipart whose declared boundary never occurs: re-split or read the body as text."""
    data = _payload_bytes(part, ctx)
    match = _BOUNDARY_IN_BODY.search(data)
    if match is not None and b'"' not in match.group(1) and depth < MAX_DEPTH:
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
            collect(reparsed, depth + 1, ctx, segments, attachments)
            return
    text = _decode_part(data, view.get_content_charset(), ctx, "body")
    segments.append(("html" if _LOOKS_HTML.match(text) else "plain", text))
    ctx.text_chars += len(text)


def _report_text(part: email.message.Message, view: email.message.Message, ctx: Context) -> str:
    """The fields of a machine-readable report part (delivery status, feedback or disposition
    report, a bounced message's headers) as lines of text: what a user searches when chasing a
    bounce."""
    if not part.is_multipart():
        return _decode_part(_payload_bytes(part, ctx), view.get_content_charset(), ctx, "report")
    blocks = []
    for block in part.get_payload():
        if isinstance(block, email.message.Message):
            fields = [f"{name}: {clean_line(decode_words(raw_header_text(str(value), name, ctx), ctx, name))}"
                      for name, value in block.raw_items()]
            body = block.get_payload()
            blocks.append("\n".join(fields + ([body.strip()] if isinstance(body, str) and body.strip() else [])))
    return "\n\n".join(b for b in blocks if b)


def _forwarded_message(part: email.message.Message) -> email.message.Message | None:
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload[0] if payload and isinstance(payload[0], email.message.Message) else None
    # An encoded message/rfc822 (not allowed, but sent) is left unparsed by the stdlib.
    data = part.get_payload(decode=True)
    if not data or not HEADER_LINE.match(data.lstrip()):
        return None
    try:
        return email.message_from_bytes(data.lstrip())
    except RecursionError:
        return None


def _forward_header(inner: email.message.Message, ctx: Context) -> str:
    headers = header_map(inner)
    lines = ["---------- Forwarded message ----------"]
    for key, label in _FORWARD_HEADERS:
        value = clean_line(decode_words(header_text(headers, key, label, ctx), ctx, label))
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def _payload_bytes(part: email.message.Message, ctx: Context) -> bytes:
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
    part: email.message.Message, view: email.message.Message, ctx: Context, ctype: str
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


def _decode_part(data: bytes, charset: str | None, ctx: Context, where: str) -> str:
    decoded = decode_bytes(data, charset, None if data.isascii() else ctx.hint)
    if decoded.note:
        ctx.note(f"{where}: {decoded.note}")
    return decoded.text


def _mime_view(part: email.message.Message, ctx: Context) -> email.message.Message:
    """The part itself, or a header-only copy whose raw 8-bit MIME parameters are decoded.

    The stdlib turns undeclared 8-bit bytes in parameters (GB2312 file names)
    into replacement characters; decoding them first keeps the name.
    """
    raw = [(n, v) for n, v in part.raw_items() if n.lower() in ("content-type", "content-disposition")]
    if all(isinstance(v, str) and v.isascii() for _, v in raw):
        return part
    view = email.message.Message()
    for name, value in raw:
        view[name] = raw_header_text(value if isinstance(value, str) else str(value), name, ctx)
    return view


def _filename(view: email.message.Message, ctx: Context) -> str:
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
    return _safe_filename(decode_words(name, ctx, "attachment name"))


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


def assemble_text(segments: list[tuple[str, str]], ctx: Context) -> tuple[str, bool, str]:
    """(the text read, whether it came from HTML alone, the text of the HTML alternatives not read)."""
    has_plain = any(kind == "plain" and text.strip() for kind, text in segments)
    has_html = False
    pieces: dict[bool, list[str]] = {False: [], True: []}
    total = {False: 0, True: 0}
    for kind, text in segments:
        is_alt = kind == "alt"
        if total[is_alt] > MAX_TEXT_CHARS:
            continue
        if kind in ("html", "alt"):
            text = html_to_text(text)
            has_html = has_html or (bool(text) and not is_alt)
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        text = text.strip("\n").rstrip()
        if text.strip():
            pieces[is_alt].append(text)
            total[is_alt] += len(text) + 2
    joined, alternatives = "\n\n".join(pieces[False]), "\n\n".join(pieces[True])
    if len(joined) > MAX_TEXT_CHARS:
        joined = joined[:MAX_TEXT_CHARS]
        ctx.note(f"text truncated at {MAX_TEXT_CHARS} characters")
    return joined, has_html and not has_plain, alternatives[:MAX_TEXT_CHARS]


def html_to_text(html: str) -> str:
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
