"""The Whoosh engine: a pure-Python index (whoosh-reloaded), Dossier's first and still supported.

Its writer is slow enough that imports and rebuilds run it in a child process
(:mod:`index.whoosh_worker`); its internals that Dossier speeds up are patched in
:mod:`index.whoosh_patches`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.query import And, DateRange, Every, Not, NullQuery, Phrase, Prefix, Query, Term, Wildcard
from whoosh.writing import LockError

from . import plan as p
from .document import Document
from .engine import Engine, EngineWriter, Feed, IndexDatabase, OnCommitted, Page, StoredHit, WriterFeed
from .errors import IndexLockedError, SearchIndexError
from .fields import (
    KEYWORD_FIELDS,
    STEMMED_FIELDS,
    STORED_ONLY_FIELDS,
    STORED_TEXT_FIELDS,
    TEXT_FIELDS,
    keyword_lists,
    stored_values,
    text_values,
    traits_of,
)
from .whoosh_analysis import IndexPositions, text_analyzer
from .whoosh_patches import Or, speed_up

INDEX_NAME = "messages"
#: A field every index of the current schema has (an older index lacks it: reindex).
_NEWEST_FIELD = "attachment_text"
#: Segments an index may have before a lazy commit merges the small ones.
MAX_SEGMENTS = 10
#: Documents between the commits of a run in this process (each makes them searchable).
COMMIT_EVERY = 5000
#: Whether imports and rebuilds write in a child process (index.whoosh_worker), in parallel
#: with parsing and saving: Whoosh's writer is pure Python and took over half of an import.
USE_CHILD_WRITER = True
#: Documents between the child's commits during an import (measured on 2,000 messages: 5,000
#: left a 10 s final flush that nothing overlapped, 1,000 a 6 s one, 82 -> 90 msg/s).
CHILD_COMMIT_EVERY = 1000


def make_schema() -> Schema:
    def text(name: str) -> TEXT:
        boost = TEXT_FIELDS[name]
        # Multi-token terms (CJK bigrams, e-mail parts) must match contiguously.
        field = TEXT(analyzer=text_analyzer(stems=name in STEMMED_FIELDS), stored=name in STORED_TEXT_FIELDS,
                     field_boost=boost, multitoken_query="phrase")
        field.format = IndexPositions(field_boost=boost)  # the same postings, written faster
        return field

    def keyword() -> KEYWORD:
        return KEYWORD(stored=True, commas=True, lowercase=True, scorable=False)

    return Schema(
        id=ID(unique=True, stored=True),
        date=DATETIME(stored=True, sortable=True),
        **{name: text(name) for name in TEXT_FIELDS},
        **{name: keyword() for name in KEYWORD_FIELDS},
        **{name: STORED() for name in STORED_ONLY_FIELDS},
    )


def _keywords(values: Iterable[object]) -> str:
    # KEYWORD fields split on commas; a comma inside a value would split it.
    return ",".join(str(v).replace(",", " ") for v in values)


def whoosh_fields(doc: Document) -> dict:
    """``doc`` as the keyword arguments of Whoosh's ``add_document``."""
    return {
        "id": doc.id,
        "date": doc.date,
        **text_values(doc),
        **{name: _keywords(values) for name, values in keyword_lists(doc).items()},
        **stored_values(doc),
    }


class WhooshWriter(EngineWriter):
    def __init__(self, writer, on_done) -> None:
        speed_up(writer)
        self._writer = writer
        self._on_done = on_done
        self.count = 0

    def put(self, doc: Document) -> None:
        self._writer.update_document(**whoosh_fields(doc))
        self.count += 1

    def add_new(self, doc: Document) -> None:
        self._writer.add_document(**whoosh_fields(doc))
        self.count += 1

    def delete(self, doc_id: str) -> None:
        self._writer.delete_by_term("id", doc_id)

    def commit(self, *, merge: bool | None = True) -> None:
        """``merge=False`` skips merging segments (faster, for intermediate commits of a long
        run); ``merge=None`` merges only once the index has more than :data:`MAX_SEGMENTS`
        segments (merging rewrites every posting of the merged segments: at the end of an
        import it was a tail of several seconds)."""
        if merge is None:
            merge = len(self._writer.segments) + 1 > MAX_SEGMENTS
        self._writer.commit(merge=merge)
        self._on_done()

    def cancel(self) -> None:
        self._writer.cancel()
        self._on_done()


class _Feed(WriterFeed):
    """Intermediate commits without a merge, the last one merging."""

    def _commit(self, writer: EngineWriter, *, last: bool) -> None:
        writer.commit(merge=last)  # type: ignore[call-arg]


class WhooshEngine(Engine):
    name = "whoosh"
    schema_version = 1

    def __init__(self, path: Path, *, database: IndexDatabase | None = None) -> None:
        super().__init__(path, database=database)
        self._ix = None
        self._kept: tuple[object, object] | None = None  # (index object, its open searcher)
        self._kept_lock = threading.Lock()
        self._finalizer: weakref.finalize | None = None

    def _storage(self) -> FileStorage:
        # With mmap, opening a searcher copies whole stored-field blocks into memory (BytesIO
        # over the map), which made searches 5-15x slower while each opened its own searcher;
        # one searcher is kept open now, and term lookups through the map beat seek+read
        # (scripts/bench_search.py, 10k archive: p50/p95 15/34 ms without, 11/22 ms with).
        return FileStorage(str(self.path), supports_mmap=True)

    @classmethod
    def holds_index(cls, path: Path) -> bool:
        try:
            return FileStorage(str(path)).index_exists(INDEX_NAME)
        except Exception:  # a damaged table of contents: the index is there, opening it says how it fails
            return True

    def create(self) -> None:
        self._storage().create_index(make_schema(), indexname=INDEX_NAME)

    @property
    def ix(self):
        """The open Whoosh index.

        Raises SearchIndexError when it cannot be opened or was built by an older Dossier.
        """
        if self._ix is None:
            try:
                self._ix = self._storage().open_index(INDEX_NAME)
            except Exception as exc:  # Whoosh raises many kinds for a damaged index
                raise SearchIndexError(
                    f"the search index at {self.path} cannot be opened ({exc}); "
                    "run `dossier reindex` to rebuild it from the stored messages"
                ) from exc
        if _NEWEST_FIELD not in self._ix.schema:
            raise SearchIndexError(
                f"the search index at {self.path} was built by an older Dossier and lacks attachment "
                "text, quotes and languages; run `dossier reindex` to rebuild it"
            )
        return self._ix

    def _forget(self) -> None:
        self._ix = None  # reopen to see the new segments

    def doc_count(self) -> int:
        return self.ix.doc_count()

    def stored_documents(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        with self.ix.searcher() as searcher:
            for fields in searcher.all_stored_fields():
                customers = tuple(int(c) for c in str(fields.get("customer") or "").split(",") if c.strip())
                yield fields["id"], customers

    def open_writer(self, *, limitmb: int = 128) -> WhooshWriter:
        ix = self.ix  # raises for an index of an older schema
        try:
            raw = ix.writer(limitmb=limitmb)
        except LockError as exc:
            raise IndexLockedError(
                f"the search index at {self.path} is being written by another dossier process; "
                "wait for it to finish"
            ) from exc
        return WhooshWriter(raw, on_done=self._forget)

    def feed(self, on_committed: OnCommitted, *, new_only: bool = False) -> Feed:
        if new_only and USE_CHILD_WRITER:
            from .whoosh_worker import ChildFeed

            self.ix  # noqa: B018  (raises here, not in the child, for an index of an older schema)
            return ChildFeed(self.path, on_committed, opener=WhooshEngine, commit_every=CHILD_COMMIT_EVERY)
        return _Feed(self, on_committed, new_only=new_only, commit_every=COMMIT_EVERY)

    def fill(self, docs: Iterable[Document], **writer_options: object) -> int:
        """One commit at the end, so the new index is one segment; with the child writer, this
        process reads, parses and builds the documents while the child writes the previous ones."""
        if not USE_CHILD_WRITER:
            return super().fill(docs, limitmb=256)
        from .whoosh_worker import fill_in_child

        return fill_in_child(self.path, docs, opener=WhooshEngine)

    def search(self, query: p.Plan, filter: p.Plan | None, *, scored: bool, limit: int, offset: int = 0) -> Page:
        ix = self.ix
        kwargs = {"limit": offset + limit, "filter": _compile_filter(filter)}
        if not scored:
            # Newest first needs no relevance: skipping BM25F halves the time of a broad query.
            kwargs.update(sortedby="date", reverse=True, scored=False)
        with self._searcher(ix) as searcher:
            results = searcher.search(_compile(query), **kwargs)
            hits = tuple(
                StoredHit(id=hit["id"], score=float(hit.score or 0.0), date=hit.get("date"),
                          fields=_fields(hit.fields()))
                for hit in results[offset:]
            )
            return Page(hits=hits, total=len(results))

    @contextmanager
    def _searcher(self, ix) -> Iterator:
        """The kept searcher, reopened when the index changed (a new Whoosh index object after
        our own writes, a new generation after another process's commit): opening one reads
        every segment's term table header (about a third of a warm search's time on a
        10-segment index), and a kept searcher also keeps its caches (term statistics, the date
        column for sorting). A fresh searcher, not ``refresh()``: Whoosh's refresh reuses
        segment readers by segment id and would keep their old deletions. A thread that finds
        the kept searcher busy (Whoosh searchers share file positions) gets one of its own."""
        if not self._kept_lock.acquire(blocking=False):
            with ix.searcher() as searcher:
                yield searcher
            return
        try:
            searcher = None
            if self._kept is not None:
                kept_ix, kept_searcher = self._kept
                try:
                    if kept_ix is ix and kept_searcher.up_to_date():
                        searcher = kept_searcher
                except OSError:  # the index directory went away: open afresh, which says how it fails
                    pass
                if searcher is None:
                    self._close_kept()
            if searcher is None:
                searcher = ix.searcher()
                self._kept = (ix, searcher)
                self._finalizer = weakref.finalize(self, searcher.close)
            yield searcher
        finally:
            self._kept_lock.release()

    def _close_kept(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # closes the kept searcher's files
        self._kept = self._finalizer = None

    def close(self) -> None:
        self._close_kept()
        self._ix = None


def _fields(stored: dict) -> dict:
    """A hit's stored fields, with its ranking traits read from its keywords (stored by Whoosh)."""
    flags = str(stored.get("flag") or "").split(",")
    return {**stored, "traits": traits_of("bulk" in flags, bool(str(stored.get("customer") or "").strip()))}


# --- plans compiled to Whoosh queries ---------------------------------------------------------

#: Matches no document, as a filter: Whoosh takes an empty filter (NullQuery's) for none at all.
_NO_DOCUMENT = Term("id", "\0none")


def _compile_filter(node: p.Plan | None) -> Query | None:
    if node is None:
        return None
    return _NO_DOCUMENT if isinstance(node, p.Nothing) else _compile(node)



def _compile(node: p.Plan) -> Query:
    if isinstance(node, p.Term):
        return Term(node.field, node.text, boost=node.boost)
    if isinstance(node, p.Phrase):
        return Phrase(node.field, list(node.words))
    if isinstance(node, p.Prefix):
        return Prefix(node.field, node.text)
    if isinstance(node, p.Wildcard):
        return Wildcard(node.field, node.pattern)
    if isinstance(node, p.DateSpan):
        return DateRange("date", node.start, node.end, endexcl=True)
    if isinstance(node, p.Every):
        return Every()
    if isinstance(node, p.Nothing):
        return NullQuery
    if isinstance(node, p.Not):
        return Not(_compile(node.child))
    if isinstance(node, p.And):
        return And([_compile(c) for c in node.children])
    return Or([_compile(c) for c in node.children])
