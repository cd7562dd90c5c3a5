"""Amounts, currencies and trade terms read out of quote text ("USD 12,500", "FOB Ningbo"). Pure."""

from __future__ import annotations

import re

__all__ = ["find_amounts"]

_CODES = "USD|EUR|GBP|RMB|CNY|JPY|HKD|AUD|CAD|CHF|SGD|TWD|KRW|INR"
_SYMBOLS = {"US$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY", "HK$": "HKD"}
_WORDS = {"美元": "USD", "美金": "USD", "欧元": "EUR", "歐元": "EUR", "人民币": "CNY", "人民幣": "CNY", "元": "CNY",
          "英镑": "GBP", "日元": "JPY", "港币": "HKD", "港幣": "HKD"}
_NUMBER = r"\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_BEFORE = re.compile(
    rf"(?<![A-Za-z])({_CODES}|US\$|HK\$|[$€£¥￥])\s?({_NUMBER})(?!\d)(?:\s?(k|m|million)\b)?", re.I
)
_UNITS = "|".join(sorted(_WORDS, key=len, reverse=True))
_AFTER = re.compile(rf"(?<![\d.,])({_NUMBER})\s?({_CODES}|{_UNITS})(?![A-Za-z])")
_INCOTERMS = "EXW|FCA|FAS|FOB|CFR|CNF|CIF|CPT|CIP|DAP|DPU|DDP"
# A trade term and its named place: "FOB Ningbo", "CIF Hamburg Port", "FOB 宁波".
_TERM = re.compile(
    rf"(?<![A-Za-z])({_INCOTERMS})[\s:]+((?:[A-Z][a-z]+)(?:[ -][A-Z][a-z]+)?|[\u4e00-\u9fff]{{2,4}})"
)
_NOT_PLACES = frozenset({"Price", "Prices", "Port", "Term", "Terms", "The", "Incoterms", "Basis", "And", "Or"})
MAX_FOUND = 12


def _amount(currency: str, number: str, scale: str | None = None) -> str:
    number = number.replace("，", ",")
    return f"{currency} {number}{' ' + scale.lower() if scale else ''}"


def find_amounts(text: str) -> tuple[str, ...]:
    """Amounts as "CUR number" and trade terms as "TERM Place", first seen first, each once."""
    found: list[tuple[int, str]] = []
    for m in _BEFORE.finditer(text):
        mark = m.group(1).upper()
        currency = _SYMBOLS.get(mark, mark)
        found.append((m.start(), _amount(currency, m.group(2), m.group(3))))
    for m in _AFTER.finditer(text):
        unit = m.group(2).upper()
        found.append((m.start(), _amount(_WORDS.get(m.group(2), unit), m.group(1))))
    for m in _TERM.finditer(text):
        place = m.group(2)
        if place.split()[0].split("-")[0] not in _NOT_PLACES:
            found.append((m.start(), f"{m.group(1)} {place}"))
    found.sort()
    return tuple(dict.fromkeys(value for _, value in found))[:MAX_FOUND]
