"""HTML mail made inert for display: sanitized with nh3 and served to a sandboxed frame under its own CSP.

What keeps a hostile message harmless, in layers: nh3 (the ammonia sanitizer) keeps only
formatting tags and attributes, drops scripts, event handlers, forms, frames, ``<style>`` and
``javascript:`` links, and keeps only harmless CSS properties in ``style`` attributes (no
positioning, no backgrounds); remote images are removed until the reader asks for them; the
page that frames the mail gives the frame ``sandbox`` without ``allow-scripts``; and the frame's
own Content-Security-Policy forbids scripts and any load but inline images (and, when asked,
remote images).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import nh3

#: Formatting the mail may keep in ``style`` attributes; everything else (position, background,
#: content, behaviours, url() loads) goes.
STYLE_PROPERTIES = frozenset({
    "color", "font", "font-family", "font-size", "font-style", "font-weight", "line-height", "text-align",
    "text-decoration", "text-indent", "text-transform", "letter-spacing", "white-space", "vertical-align",
    "margin", "margin-top", "margin-bottom", "margin-left", "margin-right", "padding", "padding-top",
    "padding-bottom", "padding-left", "padding-right", "border", "border-top", "border-bottom", "border-left",
    "border-right", "border-color", "border-style", "border-width", "border-collapse", "border-spacing",
    "width", "max-width", "min-width", "height", "list-style-type", "direction",
})
#: Link schemes a mail may keep (``javascript:``, ``data:`` and the rest are dropped).
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
#: The largest inline (cid:) image shown, in bytes.
MAX_INLINE_IMAGE = 2_000_000


def lowered_value(value: str) -> str:
    return value.strip().lower()


def _attributes() -> dict[str, set[str]]:
    attributes = {tag: set(values) for tag, values in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = {"style", "title", "dir", "lang"}
    for tag in ("table", "td", "th", "tr", "tbody"):
        attributes.setdefault(tag, set()).update({"width", "height", "valign", "cellpadding", "cellspacing",
                                                  "border"})
    attributes.setdefault("font", set()).update({"color", "size", "face"})
    return attributes


_ATTRIBUTES = _attributes()
_TAGS = set(nh3.ALLOWED_TAGS) | {"font"}


def sanitize_mail(html: str, *, remote_images: bool = False,
                  inline_image: Callable[[str], tuple[str, bytes] | None] | None = None) -> tuple[str, int]:
    """``html`` with only inert formatting left, and how many remote images were held back.
    ``inline_image(content_id)`` gives (content type, bytes) of a ``cid:`` image, shown inline."""
    blocked = 0

    def keep(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if tag == "img" and attribute == "src":
            lowered = value.strip().lower()
            if lowered.startswith("cid:"):
                found = inline_image(value.strip()[4:]) if inline_image else None
                if found is None or len(found[1]) > MAX_INLINE_IMAGE or not found[0].startswith("image/"):
                    return None
                return f"data:{found[0]};base64,{base64.b64encode(found[1]).decode('ascii')}"
            if lowered.startswith(("http:", "https:", "//")):
                if not remote_images:
                    blocked += 1
                    return None
                return value
            return value if lowered.startswith("data:image/") else None
        if lowered_value(value).startswith(("data:", "cid:")):
            return None  # only images may be data (a data: link could carry a page of its own)
        return value

    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "title", "head", "noscript", "template"},
        attributes=_ATTRIBUTES,
        attribute_filter=keep,
        url_schemes=set(URL_SCHEMES) | {"cid", "data"},  # kept only on images (see keep)
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties=set(STYLE_PROPERTIES),
        strip_comments=True,
    )
    return cleaned, blocked


def frame_policy(*, remote_images: bool) -> str:
    """The Content-Security-Policy of the framed mail: no scripts, no loads but images as allowed."""
    images = "data: https: http:" if remote_images else "data:"
    return (f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; font-src 'none'; "
            "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups "
            "allow-popups-to-escape-sandbox")


def frame_document(body: str) -> str:
    """A whole document around sanitized ``body``, readable on a phone."""
    return ("<!doctype html><html><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"referrer\" content=\"no-referrer\"></head>"
            "<body style=\"font-family: sans-serif; overflow-wrap: anywhere; margin: 8px\">"
            f"{body}</body></html>")
