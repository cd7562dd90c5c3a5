"""The tantivy engine (PyPI ``tantivy``, the Rust engine's bindings): Dossier's default.

tantivy receives Dossier's own tokens (pre-tokenized text from :mod:`index.analysis`), so it
finds exactly what the Whoosh engine finds; it stores documents compressed and indexes in Rust
threads of its own, so it needs no child process. Its traps, each covered by a test: segment
files that no commit references any more are collected after every commit and after merges
(and when a writer opens, for what a killed process left); a writer holds the index's lock file
until it commits or cancels, and readers reload when ``meta.json`` changes; the writer's memory
is bounded by :data:`WRITER_HEAP`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import repeat
from pathlib import Path

import tantivy
from tantivy import FieldType, Occur, Order, PreTokenizedString, Query, Token

from . import plan as p
from .analysed import tokens_for
from .document import Document
from .engine import Engine, EngineWriter, Feed, IndexDatabase, OnCommitted, Page, StoredHit, WriterFeed
from .errors import IndexLockedError, SearchIndexError
from .fields import (
    KEYWORD_FIELDS,
    STORED_TEXT_FIELDS,
    TEXT_FIELDS,
    keyword_lists,
    keyword_terms,
    stored_values,
    text_values,
    traits_of,
)

log = logging.getLogger(__name__)

#: The writer's memory for documents not yet flushed to a segment (tantivy flushes a segment
#: when it fills), and its indexing threads: one, beside the importing process's own work.
WRITER_HEAP = 64_000_000
WRITER_THREADS = 1
#: A rebuild has nothing else to do: two threads (tantivy's minimum is 15 MB per thread).
FILL_HEAP = 128_000_000
FILL_THREADS = 2
#: Documents between the commits of a long run (each commit makes them searchable and durable).
COMMIT_EVERY = 5000
#: The stored field holding what result rows need and nothing searches (JSON).
_EXTRA = "stored"
_EPOCH = datetime(1970, 1, 1)


def make_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("date", stored=True, indexed=True, fast=True)  # microseconds, naive UTC
    builder.add_integer_field("newest", fast=True)  # the order of "newest first": see _newest()
    for name in TEXT_FIELDS:  # pre-tokenized: the tokenizer named is never used
        builder.add_text_field(name, stored=name in STORED_TEXT_FIELDS, tokenizer_name="raw", index_option="position")
    for name in KEYWORD_FIELDS:
        builder.add_text_field(name, stored=name == "customer", tokenizer_name="raw", index_option="basic")
    builder.add_bytes_field(_EXTRA, stored=True, indexed=False)
    return builder.build()


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


#: Bits of the order key that order documents of the same second: by when they were added.
_SEQ_BITS = 28


def _newest(date: datetime, seq: int) -> int:
    """The key "newest first" sorts by: the date's second, then (the same second) the later added
    first, as Whoosh orders documents of one date (by document number). One integer, because
    tantivy sorts by one field; a date to the year 2500 and 2**28 writes fit in 62 bits."""
    return ((date - _EPOCH) // timedelta(seconds=1) << _SEQ_BITS) + (seq & ((1 << _SEQ_BITS) - 1))


def _tokens(doc: Document, name: str, text: str) -> PreTokenizedString:
    # Offsets are not needed: snippets re-read the stored text with Dossier's own highlighter.
    # map() over the two lists makes the Token objects at half a comprehension's cost.
    terms, positions = tokens_for(doc, name, text)
    return PreTokenizedString(text, list(map(Token, terms, positions, repeat(0), repeat(0))))


def _document(doc: Document, seq: int) -> tantivy.Document:
    out = tantivy.Document()
    out.add_text("id", doc.id)
    out.add_integer("date", _micros(doc.date))
    out.add_integer("newest", _newest(doc.date, seq))
    for name, text in text_values(doc).items():
        if text:
            out.add_pre_tokenized_text(name, _tokens(doc, name, text))
    for name, values in keyword_lists(doc).items():
        for term in keyword_terms(values):
            out.add_text(name, term)
    extra = {**stored_values(doc), "traits": traits_of(doc.is_bulk, bool(doc.customers))}
    out.add_bytes(_EXTRA, json.dumps(extra, ensure_ascii=False).encode())
    return out


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """tantivy's errors for a damaged index (ValueError, or a panic of its Rust code) as
    SearchIndexError with the fix."""
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, ValueError) and type(exc).__name__ != "PanicException":
            raise
        raise SearchIndexError(f"the search index at {path} cannot be read ({exc}); "
                               "run `dossier reindex` to rebuild it from the stored messages") from exc


#: How tantivy's Rust code words a read-only file system (std::io::ErrorKind, strerror, errno 30).
_READ_ONLY_TEXTS = ("ReadOnlyFilesystem", "Read-only file system", "os error 30")
#: Free space below which a writer that tantivy killed is taken to have met a full disk: its
#: indexing thread's io::Error reaches Python only as "An index writer was killed".
_NEARLY_FULL = 8 * 1024 * 1024


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """tantivy's write errors as SearchIndexError; caused by ENOSPC when the disk is (nearly) full."""
    try:
        yield
    except ValueError as exc:
        try:
            full = shutil.disk_usage(path).free < _NEARLY_FULL
        except OSError:
            full = False
        cause = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) if full else exc
        raise SearchIndexError(f"the search index at {path} cannot be written ({exc})") from cause


class TantivyWriter(EngineWriter):
    def __init__(self, engine: TantivyEngine, writer) -> None:
        self._engine = engine
        self._writer = writer
        self._seq = writer.commit_opstamp  # operation stamps only grow, over the index's life
        self.count = 0

    def put(self, doc: Document) -> None:
        # The delete applies to documents added before it, so not to the one added next.
        with _writing(self._engine.path):
            self._writer.delete_documents_by_term("id", doc.id)
        self.add_new(doc)

    def add_new(self, doc: Document) -> None:
        with _writing(self._engine.path):
            self._seq = max(self._seq, self._writer.add_document(_document(doc, self._seq))) + 1
        self.count += 1

    def delete(self, doc_id: str) -> None:
        with _writing(self._engine.path):
            self._writer.delete_documents_by_term("id", doc_id)

    def commit(self) -> None:
        try:
            with _writing(self._engine.path):
                self._writer.commit()
                # Segments this commit replaced; merges that finish later collect their own inputs.
                self._writer.garbage_collect_files()
        finally:
            self._release()

    def cancel(self) -> None:
        try:
            self._writer.rollback()
        except ValueError:  # a writer tantivy killed (a full disk): the error that did it is on its way up
            log.debug("rolling back the index writer failed", exc_info=True)
        finally:
            self._release()

    def _release(self) -> None:
        # Waits for the merges under way and drops the writer, which frees the lock file.
        try:
            self._writer.wait_merging_threads()
        except ValueError:  # a merge that failed (a full disk) leaves the last commit as it was
            log.debug("an index merge failed", exc_info=True)
        self._engine._changed()


class TantivyEngine(Engine):
    name = "tantivy"
    schema_version = 1
    takes_analysed = True

    def __init__(self, path: Path, *, database: IndexDatabase | None = None) -> None:
        super().__init__(path, database=database)
        self._index: tantivy.Index | None = None
        self._seen: tuple[int, int, int] | None = None  # meta.json's identity at the last reload
        self._lock = threading.Lock()

    @classmethod
    def holds_index(cls, path: Path) -> bool:
        return (Path(path) / "meta.json").is_file()

    def create(self) -> None:
        tantivy.Index(make_schema(), path=str(self.path), reuse=False)

    def _open(self) -> tantivy.Index:
        if self._index is None:
            try:
                index = tantivy.Index.open(str(self.path))
                index.config_reader("manual")
            except ValueError as exc:
                if any(text in str(exc) for text in _READ_ONLY_TEXTS):  # tantivy writes as it opens
                    raise SearchIndexError(
                        f"the search index at {self.path} cannot be opened: the file system is read-only; Dossier "
                        "writes to its data directory (locks, index), so remount it read-write or copy the archive "
                        "to a writable place") from OSError(errno.EROFS, os.strerror(errno.EROFS))
                raise SearchIndexError(
                    f"the search index at {self.path} cannot be opened ({exc}); "
                    "run `dossier reindex` to rebuild it from the stored messages"
                ) from exc
            self._index, self._seen = index, None
        return self._index

    def _meta(self) -> tuple[int, int, int]:
        try:
            stat = os.stat(self.path / "meta.json")
        except OSError as exc:
            raise SearchIndexError(f"the search index at {self.path} cannot be opened ({exc}); "
                                   "run `dossier reindex` to rebuild it") from exc
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _searcher(self):
        """A searcher on the latest commit: the reader reloads when ``meta.json`` changed
        (another process's commit, or our own)."""
        with self._lock:
            index = self._open()
            seen = self._meta()
            if seen != self._seen:
                try:
                    index.reload()
                except ValueError as exc:
                    raise SearchIndexError(f"the search index at {self.path} cannot be read ({exc}); "
                                           "run `dossier reindex` to rebuild it") from exc
                self._seen = seen
            return index.searcher()

    def _changed(self) -> None:
        self._seen = None

    def doc_count(self) -> int:
        with _reading(self.path):
            return self._searcher().num_docs

    def stored_documents(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        with _reading(self.path):
            searcher = self._searcher()
            if not searcher.num_docs:
                return
            for _, address in searcher.search(Query.all_query(), limit=searcher.num_docs, count=False).hits:
                fields = searcher.doc(address)
                yield fields.get_first("id"), tuple(int(c) for c in fields.get_all("customer"))

    def open_writer(self, *, heap: int | None = None, threads: int | None = None) -> TantivyWriter:
        index = self._open()
        try:
            writer = index.writer(heap_size=heap or WRITER_HEAP, num_threads=threads or WRITER_THREADS)
        except ValueError as exc:
            if "LockBusy" in str(exc):
                raise IndexLockedError(f"the search index at {self.path} is being written by another dossier "
                                       "process; wait for it to finish") from exc
            raise SearchIndexError(f"the search index at {self.path} cannot be written ({exc})") from exc
        writer.garbage_collect_files()  # what a killed writer left: segments no commit names
        return TantivyWriter(self, writer)

    def feed(self, on_committed: OnCommitted, *, new_only: bool = False) -> Feed:
        return WriterFeed(self, on_committed, new_only=new_only, commit_every=COMMIT_EVERY)

    def fill(self, docs: Iterable[Document], **writer_options: object) -> int:
        return super().fill(docs, heap=FILL_HEAP, threads=FILL_THREADS)

    def search(self, query: p.Plan, filter: p.Plan | None, *, scored: bool, limit: int, offset: int = 0) -> Page:
        with _reading(self.path):
            return self._search(query, filter, scored=scored, limit=limit, offset=offset)

    def _search(self, query: p.Plan, filter: p.Plan | None, *, scored: bool, limit: int, offset: int) -> Page:
        schema = self._open().schema
        compiled = _compile(schema, query)
        if filter is not None:  # restricts, never ranks
            compiled = Query.boolean_query([(Occur.Must, compiled),
                                            (Occur.Must, Query.const_score_query(_compile(schema, filter), 0.0))])
        searcher = self._searcher()
        if scored:
            result = searcher.search(compiled, limit=limit, offset=offset, count=True)
        else:
            result = searcher.search(compiled, limit=limit, offset=offset, count=True, order_by_field="newest",
                                     order=Order.Desc)
        hits = []
        for score, address in result.hits:
            stored = searcher.doc(address)
            fields: dict[str, object] = {name: stored.get_first(name) for name in STORED_TEXT_FIELDS}
            fields.update(json.loads(bytes(stored.get_first(_EXTRA) or b"{}")))
            date = stored.get_first("date")
            hits.append(StoredHit(id=stored.get_first("id"), score=float(score) if scored else 0.0,
                                  date=_EPOCH + timedelta(microseconds=date) if date is not None else None,
                                  fields=fields))
        return Page(hits=tuple(hits), total=result.count or 0)

    def close(self) -> None:
        self._index = None
        self._seen = None


# --- plans compiled to tantivy queries --------------------------------------------------------

#: Characters a regular expression of tantivy's (Rust's regex) must escape.
_REGEX_META = frozenset("\\.+*?()|[]{}^$#&-~")


def _literal(text: str) -> str:
    return "".join("\\" + ch if ch in _REGEX_META else ch for ch in text)


def _glob(pattern: str) -> str:
    return "".join(".*" if ch == "*" else "." if ch == "?" else _literal(ch) for ch in pattern)


def _boosted(query: Query, fieldname: str, boost: float = 1.0) -> Query:
    boost *= TEXT_FIELDS.get(fieldname, 1.0)
    return query if boost == 1.0 else Query.boost_query(query, boost)


def _compile(schema, node: p.Plan) -> Query:
    if isinstance(node, p.Term):
        option = "freq" if node.field in TEXT_FIELDS else "basic"
        return _boosted(Query.term_query(schema, node.field, node.text, index_option=option), node.field,
                        node.boost)
    if isinstance(node, p.Phrase):
        return _boosted(Query.phrase_query(schema, node.field, list(node.words)), node.field)
    if isinstance(node, p.Prefix):
        return _boosted(Query.regex_query(schema, node.field, _literal(node.text) + ".*"), node.field)
    if isinstance(node, p.Wildcard):
        return _boosted(Query.regex_query(schema, node.field, _glob(node.pattern)), node.field)
    if isinstance(node, p.DateSpan):
        return Query.range_query(schema, "date", FieldType.Integer,
                                 _micros(node.start) if node.start else None,
                                 _micros(node.end) if node.end else None,
                                 include_lower=True, include_upper=node.end is None)  # an open end counts as included
    if isinstance(node, p.Every):
        return Query.all_query()
    if isinstance(node, p.Nothing):
        return Query.empty_query()
    if isinstance(node, p.Not):
        return Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, _compile(schema, node.child))])
    if isinstance(node, p.And):
        clauses = [(Occur.MustNot, _compile(schema, c.child)) if isinstance(c, p.Not) else
                   (Occur.Must, _compile(schema, c)) for c in node.children]
        if all(occur == Occur.MustNot for occur, _ in clauses):
            clauses.insert(0, (Occur.Must, Query.all_query()))
        return Query.boolean_query(clauses)
    return Query.boolean_query([(Occur.Should, _compile(schema, c)) for c in node.children])
