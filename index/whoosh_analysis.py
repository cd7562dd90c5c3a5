"""Dossier's analysis as Whoosh's analyzer and postings format, for the Whoosh engine.

Whoosh pickles both classes into every index's table of contents by qualified name, as
``index.analysis.TextTokenizer`` and ``index.analysis.IndexPositions`` (where they were first
defined): ``index.analysis`` still hands them out under those names, and their ``__module__``
says so, so that existing indexes stay readable and new ones pickle the same names.
"""

from __future__ import annotations

from collections.abc import Iterator

from whoosh.analysis import Analyzer, CompositeAnalyzer, Token, Tokenizer
from whoosh.formats import Positions

from .analysis import _normalize, index_positions, iter_tokens

__all__ = ["IndexPositions", "TextTokenizer", "text_analyzer"]


def text_analyzer(*, stems: bool = False) -> Analyzer:
    """The analyzer for subject, body, names and attachment names.

    Build the field as ``TEXT(analyzer=text_analyzer(), multitoken_query="phrase")``
    so that a query word that analyzes to several tokens (CJK bigrams, the parts
    of an e-mail address) must match them contiguously. ``stems``: index English
    stems beside the words. See ``TextTokenizer``.
    """
    return CompositeAnalyzer(TextTokenizer(stems=stems))


class TextTokenizer(Tokenizer):
    """:func:`index.analysis.iter_tokens` as a Whoosh tokenizer.

    When indexing (``mode="index"``, as Whoosh's writer calls it) CJK unigrams are emitted
    too, and with ``stems`` English stems; any other mode (the query parser's is "query") yields
    words and bigrams only, as phrases need. ``cjk_unigrams=False`` turns unigrams off.
    """

    # Class-level defaults keep pickles from before an attribute existed loadable.
    cjk_unigrams: bool = True
    stems: bool = False

    def __init__(self, cjk_unigrams: bool = True, stems: bool = False) -> None:
        self.cjk_unigrams = cjk_unigrams
        self.stems = stems

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TextTokenizer)
            and type(other) is type(self)
            and other.cjk_unigrams == self.cjk_unigrams
            and other.stems == self.stems
        )

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not a str")
        # One Token object re-used for every token: Whoosh's documented convention.
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:  # wildcard, prefix and range terms: the whole folded value
            t.text, t.boost, t.stopped = _normalize(value)[0], 1.0, False
            if keeporiginal:
                t.original = value
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        unigrams = self.cjk_unigrams and mode == "index"
        stems = self.stems and mode == "index"
        for text, pos, a, b in iter_tokens(value, unigrams=unigrams, offsets=chars or keeporiginal, stems=stems):
            t.text, t.boost, t.stopped = text, 1.0, False
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar, t.endchar = start_char + a, start_char + b
            if keeporiginal:
                t.original = value[a:b]
            yield t


class IndexPositions(Positions):
    """Whoosh's ``Positions`` format (same postings, same bytes), with a fast path for
    fields analysed by a lone :class:`TextTokenizer`: the index-mode terms and positions are
    collected in one loop, without a Token object and the generator layers per token (the
    analysis of a message took about 45% less time).
    """

    def word_values(self, value, analyzer, **kwargs):  # type: ignore[override]
        tokenizer = _lone_text_tokenizer(analyzer)
        if tokenizer is None or kwargs.get("mode", "index") != "index" or not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        fb = self.field_boost
        encode = self.encode
        single = _SINGLE_POSITION
        for word, poslist in index_positions(value, tokenizer.cjk_unigrams, tokenizer.stems).items():
            # Every token's boost is 1.0: the weight is the frequency, as Positions sums it.
            if len(poslist) == 1:  # most terms: their encoding depends on the position alone
                encoded = single.get(poslist[0])
                if encoded is None:
                    encoded = encode(poslist)
                    if poslist[0] < _SINGLE_POSITION_CACHED:
                        single[poslist[0]] = encoded
                yield word, 1, 1.0 * fb, encoded
            else:
                yield word, len(poslist), float(len(poslist)) * fb, encode(poslist)


# Pickled by the names existing indexes hold (see the module docstring).
TextTokenizer.__module__ = IndexPositions.__module__ = "index.analysis"

#: Encoded position lists of one position, by position (for positions below the bound).
_SINGLE_POSITION: dict[int, bytes] = {}
_SINGLE_POSITION_CACHED = 1 << 16


def _lone_text_tokenizer(analyzer: object) -> TextTokenizer | None:
    if isinstance(analyzer, CompositeAnalyzer) and len(analyzer.items) == 1:
        analyzer = analyzer.items[0]
    return analyzer if type(analyzer) is TextTokenizer else None
