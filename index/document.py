"""Turning a parsed message into the document the index stores (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from ingest.message import Address, ParsedMessage
from ingest.reading import Reading


@dataclass(frozen=True)
class Analysed:
    """The tokens of a document's non-empty text fields, produced ahead of its engine
    (:func:`index.analysed.analyse_document`): per field, the length of the text they were read
    from (an engine analyses a field again when its document's text differs), the terms and
    their positions."""

    fields: dict[str, tuple[int, list[str], list[int]]]


@dataclass(frozen=True)
class Document:
    """One message as the index sees it; ``id`` is the raw bytes' SHA-256.

    ``body`` is what the message says new, ``quoted`` the replies and signature it repeats
    (searched too, ranked lower). ``attachment_texts`` pairs each readable attachment's file
    name with its text. ``quote_terms`` are the quote words that tagged it (empty: not a
    quote); ``amounts`` the amounts and trade terms read from it.
    """

    id: str
    date: datetime  # naive UTC
    subject: str
    body: str
    sender: str
    recipients: str
    from_addresses: tuple[str, ...]
    addresses: tuple[str, ...]
    domains: tuple[str, ...]
    attachments: tuple[str, ...]
    customers: tuple[int, ...]
    folders: tuple[str, ...]
    accounts: tuple[str, ...]
    quoted: str = ""
    to: str = ""
    cc: str = ""
    to_addresses: tuple[str, ...] = ()
    cc_addresses: tuple[str, ...] = ()
    attachment_texts: tuple[tuple[str, str], ...] = ()
    languages: tuple[str, ...] = ()
    quote_terms: tuple[str, ...] = ()
    quote_files: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    attachment_count: int = 0  # named or not
    is_bulk: bool = False  # list or robot mail (ParsedMessage.is_bulk): ranks below a customer's own
    #: Its text fields' tokens when they were produced ahead (index.analysed.analyse_document, in a
    #: worker process); an engine that takes them skips its own analysis.
    analysed: Analysed | None = field(default=None, compare=False, repr=False)

    @property
    def is_quote(self) -> bool:
        return bool(self.quote_terms)


def _describe(addresses: Iterable[Address]) -> str:
    return "\n".join(f"{a.name} <{a.email}>" if a.name else a.email for a in addresses)


#: One run of one script per match; the group that matched names it (Han, kana, hangul, Latin).
_SCRIPT_RUNS = re.compile(
    "([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|([\u3040-\u30ff]+)|([\uac00-\ud7af]+)|([A-Za-z\u00c0-\u024f]+)"
)
_RUN_LANGUAGE = {1: "zh", 2: "ja", 3: "ko", 4: "en"}


def detect_languages(text: str) -> tuple[str, ...]:
    """Scripts that make up a real share of ``text``: "zh" (Han without kana), "ja", "ko", "en"
    (Latin script, whatever the language). Mixed mail gets several."""
    counts = {"ja": 0, "ko": 0, "zh": 0, "en": 0}
    for run in _SCRIPT_RUNS.finditer(text, 0, 20_000):  # one pass over the sample
        counts[_RUN_LANGUAGE[run.lastindex]] += run.end() - run.start()
    if counts["ja"]:
        counts["ja"] += counts["zh"]  # kanji in Japanese text
        counts["zh"] = 0
    total = sum(counts.values())
    if not total:
        return ()
    # Han characters carry a word each, Latin letters a fifth of one.
    weight = {"zh": 4.0, "ja": 3.0, "ko": 2.0, "en": 1.0}
    weighted = {k: v * weight[k] for k, v in counts.items()}
    whole = sum(weighted.values())
    return tuple(k for k in ("zh", "ja", "ko", "en") if counts[k] >= 2 and weighted[k] >= whole * 0.1)


def build_document(
    sha256: str,
    parsed: ParsedMessage,
    reading: Reading,
    *,
    date: datetime,
    customers: Iterable[int] = (),
    folders: Iterable[str] = (),
    accounts: Iterable[str] = (),
    analysed: Analysed | None = None,
) -> Document:
    """The index document for a message; ``reading`` is what ``ingest.read_message`` read of it
    (text, attachment text, quotes), ``date`` the message's naive-UTC date as stored, ``analysed``
    its text fields' tokens when they were produced ahead (:func:`index.analysed.analyse_document`)."""
    everyone = parsed.addresses()
    texts = reading.attachment_texts
    return Document(
        id=sha256,
        date=date,
        subject=parsed.subject,
        body=reading.body,
        quoted=reading.quoted,
        sender=_describe(parsed.addresses("from", "sender", "reply_to")),
        recipients=_describe(parsed.addresses("to", "cc", "bcc")),
        to=_describe(parsed.addresses("to")),
        cc=_describe(parsed.addresses("cc")),
        from_addresses=tuple(dict.fromkeys(a.email for a in parsed.addresses("from", "sender"))),
        to_addresses=tuple(dict.fromkeys(a.email for a in parsed.addresses("to"))),
        cc_addresses=tuple(dict.fromkeys(a.email for a in parsed.addresses("cc"))),
        addresses=tuple(dict.fromkeys(a.email for a in everyone)),
        domains=tuple(dict.fromkeys(a.domain for a in everyone)),
        attachments=tuple(a.filename for a in parsed.attachments if a.filename),
        attachment_count=len(parsed.attachments),
        attachment_texts=texts,
        customers=tuple(sorted(set(customers))),
        folders=tuple(dict.fromkeys(folders)),
        accounts=tuple(dict.fromkeys(accounts)),
        languages=detect_languages(parsed.subject + "\n" + reading.body + "\n" + "\n".join(t for _, t in texts)[:5000]),
        quote_terms=reading.quote_terms,
        quote_files=reading.quote_files,
        amounts=reading.amounts,
        is_bulk=parsed.is_bulk,
        analysed=analysed,
    )


def complete_document(
    draft: Document,
    *,
    date: datetime,
    customers: Iterable[int] = (),
    folders: Iterable[str] = (),
    accounts: Iterable[str] = (),
) -> Document:
    """``draft`` (what :func:`build_document` made of the message's bytes alone, perhaps in a worker
    process) with what only the archive knows: the date as stored, customers, folders, accounts.
    Equal to :func:`build_document` given them."""
    return replace(draft, date=date, customers=tuple(sorted(set(customers))), folders=tuple(dict.fromkeys(folders)),
                   accounts=tuple(dict.fromkeys(accounts)))
