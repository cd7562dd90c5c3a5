"""Every place Dossier reaches into Whoosh's internals, behind one version guard.

The writer's flush and posting pool (:func:`speed_up`) and the Or matcher (:class:`Or`) replace
private parts of whoosh-reloaded 2.7.5, the version pyproject pins. Under any other version they
stand down: Whoosh's own code runs, slower but right, and a warning says so once.
"""

from __future__ import annotations

import logging

import whoosh
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.matching import NullMatcher, UnionMatcher, WrappingMatcher
from whoosh.query.compound import DefaultOr
from whoosh.util import make_binary_tree
from whoosh.util.numeric import byte_to_length
from whoosh.writing import PostingPool

log = logging.getLogger(__name__)

#: The Whoosh whose internals the patches below were written against (and byte-compared with).
PATCHED_VERSION = (2, 7, 5)


def patches_apply(version: tuple = whoosh.__version__) -> bool:
    """Whether the installed Whoosh is the one these patches know."""
    if tuple(version) == PATCHED_VERSION:
        return True
    if not getattr(patches_apply, "warned", False):
        patches_apply.warned = True  # type: ignore[attr-defined]
        log.warning("Whoosh %s is not %s: Dossier's Whoosh speed-ups are off",
                    ".".join(map(str, version)), ".".join(map(str, PATCHED_VERSION)))
    return False


class _SegmentLengths:
    """The field lengths of the segment being flushed, read once per field.

    When Whoosh's writer flushes a segment it looks up the document's field length once per
    posting, each a column read (a tenth of the index writer's time). This answers the same
    lookups, with the same values (``None`` for a zero length, as Whoosh's reader gives), from
    lists read once.
    """

    def __init__(self, reader) -> None:
        self._reader = reader
        self._lengths: dict[str, list[int | None]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int | None:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = self._lengths[fieldname] = self._load(fieldname, default)
        return lengths[docnum]

    def _load(self, fieldname: str, default: int) -> list[int | None]:
        count = self._reader.doc_count_all()
        column = self._reader._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return [default] * count
        return [byte_to_length(b) if b else None for b in (column[i] for i in range(count))]


def speed_up(writer) -> None:
    """Make ``writer`` (a Whoosh SegmentWriter) flush with :class:`_SegmentLengths`, and pool
    postings without the type assertions Whoosh makes per posting (our fields give it bytes).
    What it writes is unchanged (tests/index/test_whoosh.py compares the bytes)."""
    if not hasattr(writer, "fieldwriter") or not patches_apply():  # an AsyncWriter, or another Whoosh
        return
    fieldwriter = writer.fieldwriter
    add_postings = fieldwriter.add_postings

    def add_postings_with_cached_lengths(schema, lengths, items):
        return add_postings(schema, _SegmentLengths(lengths) if lengths is not None else None, items)

    fieldwriter.add_postings = add_postings_with_cached_lengths

    pool = writer.pool
    if type(pool) is PostingPool:

        def add(item) -> None:  # PostingPool.add: the same size estimate, then the same append
            # item = (fieldname, term bytes, docnum, weight, value bytes)
            pool.fieldnames.add(item[0])
            pool.currentsize += 150 + len(item[0]) + 2 * len(item[1]) + len(item[4] or b"")
            if pool.currentsize > pool.limit:
                pool.save()
            pool.current.append(item)

        pool.add = add


class Or(DefaultOr):
    """Whoosh's Or, matched as a plain union of the terms a segment holds.

    Whoosh's own Or, on a segment of under 5,000 documents (every segment of a small archive,
    the newest ones of a big one), preloads its matches into a 2,048-slot array built and
    cleared slot by slot in Python: per segment and per Or, a few times the cost of the whole
    match. The union it uses for bigger segments first weighs each part by its document
    frequency, one more term-table lookup per part and segment. This one skips both and leaves
    out the parts that match nothing in the segment (a word is in one or two of the seven
    default fields): the same documents, with the same scores (summed in another order).
    """

    def _matcher(self, subs, searcher, context):
        if not patches_apply():
            return super()._matcher(subs, searcher, context)
        matchers = [m for m in (q.matcher(searcher, context) for q in subs) if m.is_active()]
        if not matchers:
            return NullMatcher()
        matcher = make_binary_tree(UnionMatcher, matchers)
        return WrappingMatcher(matcher, self.boost) if self.boost != 1.0 else matcher
