"""Pages as people read them: Jinja2 environments per language (Babel catalogs), dates in the
archive's time zone, highlighted snippets and small SVG charts."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timezone, tzinfo
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

HERE = Path(__file__).resolve().parent
LOCALES = HERE / "locale"
#: Interface languages: the code a cookie or link names -> the catalog's locale (None: the source text).
LANGUAGES = {"en": None, "zh": "zh_Hans"}
DEFAULT_LANGUAGE = "en"


@cache
def translations(language: str) -> NullTranslations:
    """The catalog of ``language``, compiled from its .po file when first asked for (no compiled
    file is kept in the repository)."""
    locale = LANGUAGES.get(language)
    if locale is None:
        return NullTranslations()
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def choose_language(cookie: str | None, accept_language: str) -> str:
    """The language a cookie names, else the first of the browser's (by q) that Dossier speaks."""
    if cookie in LANGUAGES:
        return cookie
    ranked = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def local(value: datetime | None, zone: tzinfo) -> datetime | None:
    """A stored (naive UTC) time in ``zone``."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(zone)


def highlight(snippet: str) -> Markup:
    """A snippet with its ``**matches**`` marked, everything else escaped."""
    parts = snippet.split("**")
    return Markup("").join(Markup("<mark>%s</mark>") % p if i % 2 and p else escape(p) for i, p in enumerate(parts))


def bar_chart(labels: Sequence[str], series: Sequence[Sequence[int]], names: Sequence[str], *,
              width: int = 640, height: int = 140) -> Markup:
    """Stacked monthly bars (one colour class per series) as inline SVG, with a title per bar."""
    count = max(len(labels), 1)
    top = max([sum(values) for values in zip(*series, strict=True)] + [1])
    slot = width / count
    bar = max(slot * 0.8, 1.0)
    plot = height - 18
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" preserveAspectRatio="none">']
    for i, label in enumerate(labels):
        x = i * slot + (slot - bar) / 2
        base = plot
        tip = ", ".join(f"{name} {values[i]}" for name, values in zip(names, series, strict=True))
        for n, values in enumerate(series):
            h = plot * values[i] / top
            if h:
                parts.append(f'<rect class="s{n}" x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                             f'<title>{escape(label)}: {escape(tip)}</title></rect>')
                base -= h
        if count <= 12 or i % max(count // 6, 1) == 0:
            centre = min(max(x + bar / 2, 16.0), width - 16.0)
            parts.append(f'<text x="{centre:.1f}" y="{height - 4}" text-anchor="middle">{escape(label[2:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: Sequence[int], *, width: int = 120, height: int = 24) -> Markup:
    """Small bars of ``values`` (a market's mail per month) as inline SVG."""
    top = max(list(values) + [1])
    slot = width / max(len(values), 1)
    parts = [f'<svg class="spark" viewBox="0 0 {width} {height}" role="img">']
    for i, v in enumerate(values):
        h = (height - 2) * v / top
        parts.append(f'<rect x="{i * slot + 1:.1f}" y="{height - h:.1f}" width="{max(slot - 2, 1):.1f}" '
                     f'height="{h:.1f}"><title>{v}</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))


def make_environment(language: str, zone: tzinfo) -> Environment:
    """The templates in ``language``, with times shown in ``zone``."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(language), newstyle=True)
    env.filters["when"] = lambda v: (local(v, zone).strftime("%Y-%m-%d %H:%M") if v else "")
    env.filters["day"] = lambda v: (local(v, zone).strftime("%Y-%m-%d") if v else "")
    env.filters["highlight"] = highlight
    env.globals.update(bar_chart=bar_chart, sparkline=sparkline, language=language)
    return env
