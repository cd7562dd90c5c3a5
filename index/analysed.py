"""A document's full-text fields analysed ahead of its engine (in a worker process), as plain
picklable data every engine may take instead of analysing the texts itself."""

from __future__ import annotations

from .analysis import index_tokens
from .document import Analysed, Document
from .fields import STEMMED_FIELDS, text_values

#: One field's tokens: their terms and positions, in the order :func:`index.analysis.iter_tokens`
#: gives (two lists, from :func:`index.analysis.index_tokens`: an engine can turn them into its
#: own token objects in one ``map``).
Tokens = tuple[list[str], list[int]]

__all__ = ["Analysed", "Tokens", "analyse_document", "field_tokens", "tokens_for"]


def field_tokens(name: str, text: str) -> Tokens:
    """The index tokens of ``text`` in the text field ``name``."""
    return index_tokens(text, stems=name in STEMMED_FIELDS)


def analyse_document(doc: Document) -> Analysed:
    """``doc``'s text fields analysed (pure: the same for any engine, date, customers or folders)."""
    return Analysed({name: (len(text), *field_tokens(name, text)) for name, text in text_values(doc).items() if text})


def tokens_for(doc: Document, name: str, text: str) -> Tokens:
    """The tokens of ``doc``'s text field ``name`` (holding ``text``): those analysed ahead when
    ``doc`` carries them for this text, else analysed now."""
    ahead = doc.analysed.fields.get(name) if doc.analysed is not None else None
    if ahead is not None and ahead[0] == len(text):
        return ahead[1], ahead[2]
    return field_tokens(name, text)
