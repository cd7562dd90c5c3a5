"""Reading mail: a message (HTML sanitized in a sandboxed frame), its conversation, raw and attachment downloads."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from starlette.responses import Response

from ..audit import record_event
from ..queries import read_attachment, read_html_body, read_inline_part, read_message, read_raw_message, read_thread
from .mail import frame_document, frame_policy, sanitize_mail
from .visit import Visit, page

#: Messages of a conversation shown with their text (the rest are listed).
THREAD_TEXTS = 50
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def download_name(name: str, fallback: str) -> str:
    """A file name safe to hand a browser: no path, no control or quoting characters, not hidden."""
    cleaned = _UNSAFE_NAME.sub("_", unicodedata.normalize("NFC", name)).strip(" ._")[:150]
    return cleaned or fallback


def attachment_response(data: bytes, name: str) -> Response:
    """Bytes as a download (never shown inline, never sniffed), named for every browser."""
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


@page()
def message_page(visit: Visit) -> Response:
    """A message's headers, customers, attachments and text; its HTML in a sandboxed frame."""
    ident = visit.request.path_params["ident"]
    view = read_message(visit.archive, ident, scope=visit.scope)
    has_html = view.status == "ok" and read_html_body(visit.archive, ident, scope=visit.scope) is not None
    images = visit.param("images") == "1"
    return visit.render("message.html", m=view, has_html=has_html, images=images)


@page()
def message_frame(visit: Visit) -> Response:
    """The framed HTML of a message, sanitized, under its own CSP (no script, images as asked)."""
    ident = visit.request.path_params["ident"]
    html = read_html_body(visit.archive, ident, scope=visit.scope) or ""
    images = visit.param("images") == "1"

    def inline(content_id: str):
        found = read_inline_part(visit.archive, ident, content_id, scope=visit.scope)
        return None if found is None else (found.content_type, found.data)

    body, blocked = sanitize_mail(html, remote_images=images, inline_image=inline)
    return Response(frame_document(body), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": frame_policy(remote_images=images),
                             "X-Remote-Images-Blocked": str(blocked)})


@page()
def message_raw(visit: Visit) -> Response:
    """The exact stored bytes as a .eml download; audited."""
    ident = visit.request.path_params["ident"]
    data = read_raw_message(visit.archive, ident, scope=visit.scope)
    view_id = download_name(ident, "message")
    record_event(visit.archive, visit.user.email, "raw_download", view_id, visit.address)
    return attachment_response(data, f"{view_id}.eml")


@page()
def message_attachment(visit: Visit) -> Response:
    """One attachment as a download with a safe name; audited."""
    ident = visit.request.path_params["ident"]
    number = visit.request.path_params["number"]
    part = read_attachment(visit.archive, ident, number - 1, scope=visit.scope)
    name = download_name(part.filename, f"attachment-{number}")
    record_event(visit.archive, visit.user.email, "attachment_download", f"{ident} #{number} {name}", visit.address)
    return attachment_response(part.data, name)


@page()
def thread_page(visit: Visit) -> Response:
    """The conversation oldest first, each message with its text (the one asked for open)."""
    ident = visit.request.path_params["ident"]
    conversation = read_thread(visit.archive, ident, scope=visit.scope)
    texts = {m.id: read_message(visit.archive, m.id, scope=visit.scope)
             for m in conversation.messages[-THREAD_TEXTS:]}
    return visit.render("thread.html", messages=conversation.messages, texts=texts, ident=ident)
