"""Huge attachments kept out of the parser: a 150 MB scan must not cost gigabytes to read.

The standard library's parser holds a body as a list of lines and then joins it, about seven
times its size at peak. An attachment too big for its text to be read (over
``ExtractLimits.max_bytes``) needs none of that: only its name, type and size. So, before
parsing, each run of base64 lines longer than that is cut out of the bytes given to the parser
and replaced by one short base64 line naming it; afterwards the attachment it belongs to gets
its real decoded size back and no data. Base64 lines never hold a MIME boundary (``-`` is not in
its alphabet), so the structure the parser sees is the message's own. The raw bytes stored are
never touched; only what the parser is shown.
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace

from .extract import ExtractLimits
from .message import Attachment

#: Base64 runs longer than this are cut out: their decoded size is over the text extraction limit.
ELIDE_BYTES = ExtractLimits().max_bytes * 4 // 3 + 1024 * 1024
# One character class repeated (a group repeated per line made the regex engine itself keep a
# mark per line: hundreds of megabytes); a run starts at a line start.
_RUN = re.compile(rb"(?<=\n)[A-Za-z0-9+/][A-Za-z0-9+/=\r\n\t ]{%d,}" % ELIDE_BYTES)
_MARK = b"DOSSIER-ELIDED-"
_TEXT_PART = re.compile(rb"content-type:\s*text/", re.IGNORECASE)
#: How far before a run its part's headers are looked for.
_HEADER_WINDOW = 8192


def elide_large_bodies(raw: bytes) -> tuple[bytes, list[int]]:
    """``raw`` with every base64 attachment body over :data:`ELIDE_BYTES` replaced by a marker
    line, and the decoded size of each one replaced (in order)."""
    if len(raw) < ELIDE_BYTES:
        return raw, []
    pieces: list[bytes] = []
    sizes: list[int] = []
    last = 0
    for match in _RUN.finditer(raw):
        start, end = match.span()
        # The line break before the next boundary belongs to the boundary: it stays.
        end = raw.rfind(b"\n", start, end)
        end -= raw[end - 1:end] == b"\r"
        if end - start < ELIDE_BYTES or _is_text_part(raw, start):
            continue
        blanks = sum(raw.count(ch, start, end) for ch in (b"\n", b"\r", b" ", b"\t"))
        padding = raw.count(b"=", max(start, end - 8), end)
        sizes.append((end - start - blanks) * 3 // 4 - padding)
        marker = base64.b64encode(_MARK + str(len(sizes) - 1).encode())
        pieces += [raw[last:start], marker]
        last = end
    if not sizes:
        return raw, []
    pieces.append(raw[last:])
    return b"".join(pieces), sizes


def _is_text_part(raw: bytes, start: int) -> bool:
    # The run's own part headers: after the last boundary line before it.
    window = raw[max(0, start - _HEADER_WINDOW):start]
    return _TEXT_PART.search(window[window.rfind(b"\n--") + 1:]) is not None


def restore_elided(attachments: list[Attachment], sizes: list[int]) -> list[Attachment]:
    """The attachments with each elided one's real size back (and no data: too big to read)."""
    if not sizes:
        return attachments
    restored = []
    for attachment in attachments:
        if attachment.data.startswith(_MARK) and attachment.data[len(_MARK):].isdigit():
            index = int(attachment.data[len(_MARK):])
            if index < len(sizes):
                attachment = replace(attachment, size=sizes[index], data=b"")
        restored.append(attachment)
    return restored
