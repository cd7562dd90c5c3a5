"""The Whoosh index on disk: schema, opening, writing documents, rebuilding by swap.

This is the only module (with ``search.py``) that talks to Whoosh; the rest of Dossier
sees :class:`SearchIndex` and :class:`~index.document.Document`.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.util.numeric import byte_to_length
from whoosh.writing import LockError, PostingPool

from .analysis import IndexPositions, text_analyzer
from .document import Document
from .errors import IndexLockedError, SearchIndexError

log = logging.getLogger(__name__)

INDEX_NAME = "messages"
#: Separates the texts of a message's attachments in the stored ``attachment_text`` field.
ATTACHMENT_SEPARATOR = "\n\x1f\n"
#: Quoted replies and signatures count this much of new text when ranking.
QUOTED_BOOST = 0.3
#: A field every index of the current schema has (an older index lacks it: reindex).
_NEWEST_FIELD = "attachment_text"


def make_schema() -> Schema:
    analyzer = text_analyzer()

    def text(stored: bool = False, boost: float = 1.0) -> TEXT:
        # Multi-token terms (CJK bigrams, e-mail parts) must match contiguously.
        field = TEXT(analyzer=analyzer, stored=stored, field_boost=boost, multitoken_query="phrase")
        field.format = IndexPositions(field_boost=boost)  # the same postings, written faster
        return field

    def keyword() -> KEYWORD:
        return KEYWORD(stored=True, commas=True, lowercase=True, scorable=False)

    return Schema(
        id=ID(unique=True, stored=True),
        date=DATETIME(stored=True, sortable=True),
        subject=text(stored=True, boost=2.0),
        body=text(stored=True),
        quoted=text(stored=True, boost=QUOTED_BOOST),
        sender=text(stored=True, boost=1.5),
        recipients=text(),
        to=text(),
        cc=text(),
        attachment=text(stored=True),  # the file names
        attachment_text=text(stored=True),
        attachment_text_names=STORED(),  # file name of each text in attachment_text
        from_addr=keyword(),
        to_addr=keyword(),
        cc_addr=keyword(),
        addr=keyword(),
        domain=keyword(),
        customer=keyword(),
        folder=keyword(),
        account=keyword(),
        lang=keyword(),
        flag=keyword(),  # "attachment", "quote"
        quote_terms=STORED(),
        quote_files=STORED(),
        amounts=STORED(),
    )


def _keywords(values: Iterable[object]) -> str:
    # KEYWORD fields split on commas; a comma inside a value would split it.
    return ",".join(str(v).replace(",", " ") for v in values)


def _fields(doc: Document) -> dict:
    return {
        "id": doc.id,
        "date": doc.date,
        "subject": doc.subject,
        "body": doc.body,
        "quoted": doc.quoted,
        "sender": doc.sender,
        "recipients": doc.recipients,
        "to": doc.to,
        "cc": doc.cc,
        "attachment": "\n".join(doc.attachments),
        "attachment_text": ATTACHMENT_SEPARATOR.join(text for _, text in doc.attachment_texts),
        "attachment_text_names": [name for name, _ in doc.attachment_texts],
        "from_addr": _keywords(doc.from_addresses),
        "to_addr": _keywords(doc.to_addresses),
        "cc_addr": _keywords(doc.cc_addresses),
        "addr": _keywords(doc.addresses),
        "domain": _keywords(doc.domains),
        "customer": _keywords(doc.customers),
        "folder": _keywords(doc.folders),
        "account": _keywords(doc.accounts),
        "lang": _keywords(doc.languages),
        "flag": _keywords(
            (["attachment"] if doc.attachments or doc.attachment_count else []) + (["quote"] if doc.is_quote else [])
        ),
        "quote_terms": list(doc.quote_terms),
        "quote_files": list(doc.quote_files),
        "amounts": list(doc.amounts),
    }


#: Times swap_in() tries its swap of directories when readers put the old one back in between.
_SWAP_ATTEMPTS = 5

#: Segments an index may have before a lazy commit (``merge=None``) merges the small ones.
MAX_SEGMENTS = 10


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


def _speed_up(writer) -> None:
    """Make ``writer`` (a Whoosh SegmentWriter) flush with :class:`_SegmentLengths`, and pool
    postings without the type assertions Whoosh makes per posting (our fields give it bytes).
    What it writes is unchanged (tests/index/test_writer.py compares the bytes)."""
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


class IndexWriter:
    """Adds, replaces and deletes documents inside one :meth:`SearchIndex.writer` block."""

    def __init__(self, writer, on_done=lambda: None) -> None:
        if hasattr(writer, "fieldwriter"):  # a SegmentWriter (not an AsyncWriter)
            _speed_up(writer)
        self._writer = writer
        self._on_done = on_done
        self.count = 0

    def put(self, doc: Document) -> None:
        """Add ``doc``, replacing any document with the same id."""
        self._writer.update_document(**_fields(doc))
        self.count += 1

    def add_new(self, doc: Document) -> None:
        """Add ``doc`` known to be absent (faster than :meth:`put`, for fresh indexes)."""
        self._writer.add_document(**_fields(doc))
        self.count += 1

    def delete(self, doc_id: str) -> None:
        self._writer.delete_by_term("id", doc_id)

    def commit(self, *, merge: bool | None = True) -> None:
        """Make the documents searchable; ``merge=False`` skips merging segments (faster,
        for intermediate commits of a long run); ``merge=None`` merges only once the index
        has more than :data:`MAX_SEGMENTS` segments (merging rewrites every posting of the
        merged segments: at the end of an import it was a tail of several seconds)."""
        if merge is None:
            merge = len(self._writer.segments) + 1 > MAX_SEGMENTS
        self._writer.commit(merge=merge)
        self._on_done()

    def cancel(self) -> None:
        self._writer.cancel()
        self._on_done()


class SearchIndex:
    """A Whoosh index in a directory of its own."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._recover_interrupted_swap()
        self._ix = None

    def _storage(self) -> FileStorage:
        # With mmap, opening a searcher copies whole stored-field blocks into memory (BytesIO
        # over the map), which made searches 5-15x slower while each opened its own searcher;
        # search.py now keeps one open, and term lookups through the map beat seek+read
        # (scripts/bench_search.py, 10k archive: p50/p95 15/34 ms without, 11/22 ms with).
        return FileStorage(str(self.path), supports_mmap=True)

    @property
    def exists(self) -> bool:
        if not self.path.is_dir():
            return False
        try:
            return self._storage().index_exists(INDEX_NAME)
        except Exception:  # a damaged table of contents: the index is there, opening it says how it fails
            return True

    def create(self) -> None:
        """Create an empty index (mode 0700 directory) if there is none."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.exists:
            self._storage().create_index(make_schema(), indexname=INDEX_NAME)

    def _open(self):
        if self._ix is None:
            if not self.exists:
                self.create()
            try:
                self._ix = self._storage().open_index(INDEX_NAME)
            except Exception as exc:  # Whoosh raises many kinds for a damaged index
                raise SearchIndexError(
                    f"the search index at {self.path} cannot be opened ({exc}); "
                    "run `dossier reindex` to rebuild it from the stored messages"
                ) from exc
        return self._ix

    @property
    def whoosh(self):
        """The underlying Whoosh index, for ``search.py``.

        Raises SearchIndexError when the index was built by an older Dossier (it lacks fields).
        """
        ix = self._open()
        if _NEWEST_FIELD not in ix.schema:
            raise SearchIndexError(
                f"the search index at {self.path} was built by an older Dossier and lacks attachment "
                "text, quotes and languages; run `dossier reindex` to rebuild it"
            )
        return ix

    def doc_count(self) -> int:
        if not self.exists:
            return 0
        return self._open().doc_count()

    def stored_documents(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        """Every live document's id and customer ids (for ``dossier check``), in index order.

        Raises SearchIndexError when the index cannot be opened.
        """
        if not self.exists:
            return
        with self._open().searcher() as searcher:
            for fields in searcher.all_stored_fields():
                customers = tuple(int(c) for c in str(fields.get("customer") or "").split(",") if c.strip())
                yield fields["id"], customers

    def open_writer(self, *, limitmb: int = 128) -> IndexWriter:
        """A writer to add documents with; finish it with :meth:`IndexWriter.commit` or ``cancel``.

        Raises IndexLockedError when another process holds the index's write lock.
        """
        ix = self.whoosh  # raises for an index of an older schema
        try:
            raw = ix.writer(limitmb=limitmb)
        except LockError as exc:
            raise IndexLockedError(
                f"the search index at {self.path} is being written by another dossier process; "
                "wait for it to finish"
            ) from exc
        return IndexWriter(raw, on_done=self._forget)

    @contextmanager
    def writer(self, *, limitmb: int = 128) -> Iterator[IndexWriter]:
        """A writing session: committed when the block ends normally, cancelled on error.

        Raises IndexLockedError when another process holds the index's write lock.
        """
        wrapped = self.open_writer(limitmb=limitmb)
        try:
            yield wrapped
        except BaseException:
            wrapped.cancel()
            raise
        wrapped.commit()

    def _forget(self) -> None:
        self._ix = None  # reopen to see the new segments

    def rebuild(self, docs: Iterable[Document]) -> int:
        """Build a fresh index from ``docs`` beside the live one, then swap it in.

        The live index keeps answering until the swap; an interrupted rebuild leaves it intact.
        """
        fresh = self.begin_rebuild()
        with fresh.writer(limitmb=256) as writer:
            for doc in docs:
                writer.add_new(doc)
            count = writer.count
        self.swap_in(fresh)
        log.info("rebuilt index at %s with %d documents", self.path, count)
        return count

    def begin_rebuild(self) -> SearchIndex:
        """An empty index beside the live one, for a rebuild to fill (with its own writer, in
        any process) and :meth:`swap_in` to put in the live one's place; a leftover of an
        earlier, interrupted rebuild is removed first."""
        fresh_path = self.path.with_name(self.path.name + ".new")
        shutil.rmtree(fresh_path, ignore_errors=True)
        fresh = SearchIndex(fresh_path)
        fresh.create()
        return fresh

    def swap_in(self, fresh: SearchIndex) -> None:
        """Replace the live index with ``fresh`` (from :meth:`begin_rebuild`, committed)."""
        old_path = self.path.with_name(self.path.name + ".old")
        shutil.rmtree(old_path, ignore_errors=True)
        self._ix = None
        for attempt in range(_SWAP_ATTEMPTS):
            if self.path.exists():
                self.path.rename(old_path)
            try:
                fresh.path.rename(self.path)
                break
            except OSError:
                # Between the two renames, a reader opening the index took the live copy for
                # the leftover of a crashed swap and put it back (_recover_interrupted_swap,
                # as `dossier daemon` answering a search during the nightly rebuild may): swap again.
                if attempt == _SWAP_ATTEMPTS - 1:
                    raise
        shutil.rmtree(old_path, ignore_errors=True)

    def _recover_interrupted_swap(self) -> None:
        # A crash between the two renames of rebuild() leaves only the ".old" copy live.
        old_path = self.path.with_name(self.path.name + ".old")
        if not self.path.exists() and old_path.exists():
            old_path.rename(self.path)
