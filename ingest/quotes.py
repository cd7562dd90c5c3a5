"""Quotation detection: does a subject or file name look like a quote sent to a customer."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

__all__ = ["load_quote_words", "quote_term"]

_DATA_FILE = Path(__file__).with_name("data") / "quote_words.txt"
_LATIN = r"[0-9A-Za-z\u00C0-\u024F]"


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # kana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # hangul
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
    )


@lru_cache(maxsize=1)
def load_quote_words() -> tuple[str, ...]:
    """The quote patterns of the data file, in file order (raises OSError if it is missing)."""
    words: list[str] = []
    for line in _DATA_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(line)
    return tuple(words)


def _pattern_for(word: str) -> str:
    if any(_is_cjk(char) for char in word):
        return re.escape(word)
    # Spaces and hyphens in a pattern match any run (even empty) of spaces, hyphens or underscores, so
    # "price list" also finds "Price_List.xlsx" and "Pricelist", and "pro forma" finds "Pro-Forma".
    parts = [re.escape(part) for part in re.split(r"[\s\-_]+", word) if part]
    body = r"[\s\-_]*".join(parts) if len(parts) > 1 else parts[0]
    # Whole word: no Latin letter or digit on either side. "\b" would treat "_" as a word character
    # and miss file names such as "Quotation_ACME.pdf", and treat CJK as letters and miss "附件是PI".
    return rf"(?<!{_LATIN}){body}(?!{_LATIN})"


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    # Longer patterns first, so "proforma invoice" is reported rather than "proforma".
    words = sorted(load_quote_words(), key=len, reverse=True)
    return tuple((re.compile(_pattern_for(word), re.IGNORECASE), word) for word in words)


def quote_term(text: str) -> str | None:
    """The quote pattern found in `text` (a subject or an attachment file name), or None."""
    if not text:
        return None
    for pattern, word in _compiled():
        if pattern.search(text):
            return word
    return None
