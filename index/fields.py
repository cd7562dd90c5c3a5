"""The index's fields, shared by every engine: what each holds, how it is looked up and ranked."""

from __future__ import annotations

from collections.abc import Iterable

from .document import Document

#: Full-text fields (analysed with :mod:`index.analysis`) and their weight in relevance.
#: Quoted replies and signatures count this much of new text.
QUOTED_BOOST = 0.3
TEXT_FIELDS: dict[str, float] = {
    "subject": 3.0,  # what a message is about: a word there beats one in a long body (scripts/bench_recall.py)
    "body": 1.0,
    "quoted": QUOTED_BOOST,
    "sender": 1.5,
    "recipients": 1.0,
    "to": 1.0,
    "cc": 1.0,
    "attachment": 1.0,  # the file names
    "attachment_text": 1.0,
}
#: Text fields that hold English stems beside the words (index.analysis.stem): what a message
#: says, not names or file names. A word looked up there also finds its other forms, weighted
#: this much of the word itself, so exact matches rank first.
STEMMED_FIELDS = frozenset({"subject", "body", "quoted", "attachment_text"})
STEM_BOOST = 0.5
#: Text fields whose text is stored: snippets are cut from them.
STORED_TEXT_FIELDS = ("subject", "body", "quoted", "sender", "attachment", "attachment_text")
#: Exact-value fields (lower-cased, several values each), matched whole or by prefix/pattern.
KEYWORD_FIELDS = ("from_addr", "to_addr", "cc_addr", "addr", "domain", "customer", "folder", "account", "lang",
                  "flag")
#: Values stored for result rows, never searched.
STORED_ONLY_FIELDS = ("attachment_text_names", "quote_terms", "quote_files", "amounts")
#: Fields a bare word is looked up in.
DEFAULT_FIELDS = ("subject", "body", "quoted", "sender", "recipients", "attachment", "attachment_text")
#: Separates the texts of a message's attachments in the stored ``attachment_text`` field.
ATTACHMENT_SEPARATOR = "\n\x1f\n"


def text_values(doc: Document) -> dict[str, str]:
    """The full-text fields of ``doc``."""
    return {
        "subject": doc.subject,
        "body": doc.body,
        "quoted": doc.quoted,
        "sender": doc.sender,
        "recipients": doc.recipients,
        "to": doc.to,
        "cc": doc.cc,
        "attachment": "\n".join(doc.attachments),
        "attachment_text": ATTACHMENT_SEPARATOR.join(text for _, text in doc.attachment_texts),
    }


def keyword_lists(doc: Document) -> dict[str, list[str]]:
    """The exact-value fields of ``doc``, each value as given (engines fold it with
    :func:`keyword_term`)."""
    return {
        "from_addr": list(doc.from_addresses),
        "to_addr": list(doc.to_addresses),
        "cc_addr": list(doc.cc_addresses),
        "addr": list(doc.addresses),
        "domain": list(doc.domains),
        "customer": [str(c) for c in doc.customers],
        "folder": list(doc.folders),
        "account": list(doc.accounts),
        "lang": list(doc.languages),
        "flag": (["attachment"] if doc.attachments or doc.attachment_count else [])
        + (["quote"] if doc.is_quote else []) + (["bulk"] if doc.is_bulk else []),
    }


def keyword_term(value: object) -> str:
    """The term a keyword value is indexed as: lower-cased, commas read as spaces (Whoosh's
    comma-separated keywords would split there), trimmed."""
    return str(value).replace(",", " ").strip().lower()


def keyword_terms(values: Iterable[object]) -> list[str]:
    return [term for term in (keyword_term(v) for v in values) if term]


def stored_values(doc: Document) -> dict[str, list[str]]:
    """What a result row needs that no searched field holds."""
    return {
        "attachment_text_names": [name for name, _ in doc.attachment_texts],
        "quote_terms": list(doc.quote_terms),
        "quote_files": list(doc.quote_files),
        "amounts": list(doc.amounts),
    }


def traits_of(is_bulk: bool, has_customers: bool) -> list[str]:
    """What relevance ranking weighs beside the words (index.searching), as every engine gives it in
    a hit's ``traits`` field: "bulk" (list or robot mail), "customer" (linked to a customer)."""
    return (["bulk"] if is_bulk else []) + (["customer"] if has_customers else [])
