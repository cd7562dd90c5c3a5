"""Likely duplicate customers (the 查重 a sales team does): the same registrable domain, the same
contact address, or names equal once legal forms, punctuation and full-width forms are set aside."""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy.orm import Session

from .domains import registrable_domain
from .records import CustomerRecord, load_customer_records

__all__ = ["Duplicate", "duplicate_keys", "find_duplicates", "name_key", "reasons_for", "stored_duplicates"]

# Chinese, Japanese and Taiwanese legal forms, longest first; removed wherever they stand.
_CJK_FORMS = ("股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "株式会社", "有限会社",
              "股份公司", "公司")
# Latin legal forms, removed only at the end of a name (or of a part in brackets): "AB" or "AS"
# may begin a real name.
_LATIN_FORMS = frozenset({
    "co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "llc", "llp", "plc", "gmbh",
    "ag", "kg", "mbh", "ug", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "as", "aps", "pte", "pty",
    "pvt", "sdn", "bhd", "kk", "sl", "se", "lda", "ltda", "cia", "jsc", "ooo", "zao", "oao",
})
_PART = re.compile(r"[(\[{（【]([^)\]}）】]*)[)\]}）】]")


@dataclass(frozen=True)
class Duplicate:
    """Two customers that are likely one: why (``(kind, value)`` with kind ``domain``, ``email`` or
    ``name``) and the command that merges the newer into the older."""

    customers: tuple[str, str]  # older first
    reasons: tuple[tuple[str, str], ...]

    @property
    def why(self) -> str:
        """``same domain acme.com, same name``."""
        return ", ".join(f"same {kind} {value}" if kind != "name" else "same name" for kind, value in self.reasons)

    @property
    def merge_command(self) -> str:
        return f"dossier customers merge {shlex.quote(self.customers[1])} {shlex.quote(self.customers[0])}"


def name_key(name: str) -> str:
    """``name`` without legal forms, punctuation, spaces, case or full-width forms:
    ``宁波海通贸易有限公司`` and ``宁波海通贸易`` give one key, as do ``ACME Co., Ltd.`` and ``Acme``."""
    text = unicodedata.normalize("NFKC", name).casefold()
    parts = [_PART.sub(" ", text)] + _PART.findall(text)
    kept = []
    for part in parts:
        for form in _CJK_FORMS:
            part = part.replace(form, " ")
        words = re.findall(r"\w+", part.replace(".", ""))
        while len(words) > 1 and words[-1] in _LATIN_FORMS:
            words.pop()
        kept.append("".join(words))
    return "".join(kept)


def reasons_for(a: CustomerRecord, b: CustomerRecord, freemail: frozenset[str] = frozenset()
                ) -> tuple[tuple[str, str], ...]:
    """Why ``a`` and ``b`` look like one customer; empty when they do not. Free-mail domains
    (``freemail``) say nothing about who a customer is."""
    reasons: list[tuple[str, str]] = []
    shared = _registrable(a, freemail) & _registrable(b, freemail)
    reasons += [("domain", d) for d in sorted(shared)]
    reasons += [("email", e) for e in sorted(set(a.emails) & set(b.emails))]
    key = name_key(a.name)
    if key and key == name_key(b.name):
        reasons.append(("name", key))
    return tuple(reasons)


def find_duplicates(records: Sequence[CustomerRecord], freemail: frozenset[str] = frozenset()) -> list[Duplicate]:
    """Pairs of customers that are likely one, the older (lower id, else earlier in ``records``) first;
    found through shared keys, so the cost grows with the records, not with their pairs."""
    order = {id(r): n for n, r in enumerate(records)}
    by_key: dict[tuple[str, str], list[CustomerRecord]] = defaultdict(list)
    for record in records:
        for key in duplicate_keys(record, freemail):
            by_key[key].append(record)
    pairs: dict[tuple[int, int], tuple[CustomerRecord, CustomerRecord]] = {}
    for group in by_key.values():
        for a, b in combinations(group, 2):
            first, second = sorted((a, b), key=lambda r: (r.id is None, r.id or 0, order[id(r)]))
            pairs[(order[id(first)], order[id(second)])] = (first, second)
    found = [Duplicate((a.name, b.name), reasons_for(a, b, freemail)) for a, b in pairs.values()]
    return sorted((d for d in found if d.reasons), key=lambda d: (d.customers[0].casefold(), d.customers[1].casefold()))


def stored_duplicates(session: Session, freemail: frozenset[str] = frozenset()) -> list[Duplicate]:
    """Likely duplicates among the stored customers (see :func:`find_duplicates`)."""
    return find_duplicates(load_customer_records(session), freemail)


def duplicate_keys(record: CustomerRecord, freemail: frozenset[str] = frozenset()) -> Iterable[tuple[str, str]]:
    """The keys two likely duplicates share (see :func:`reasons_for`)."""
    yield from (("domain", d) for d in _registrable(record, freemail))
    yield from (("email", e) for e in record.emails)
    if key := name_key(record.name):
        yield ("name", key)


def _registrable(record: CustomerRecord, freemail: frozenset[str]) -> set[str]:
    return {r for r in (registrable_domain(d) for d in record.domains) if r not in freemail}
