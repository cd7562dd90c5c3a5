"""The search index of an archive: which engine it uses, opening, writing, rebuilding by swap.

The rest of Dossier sees :class:`SearchIndex` and :class:`~index.document.Document`; the
engine behind it (:mod:`index.engine`) is named by the index directory's marker.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .document import Document
from .engine import DEFAULT_ENGINE, ENGINES, Engine, EngineWriter, Feed, IndexDatabase, OnCommitted, read_marker
from .engine import write_marker as _write_marker
from .errors import SearchIndexError

log = logging.getLogger(__name__)

#: Times swap_in() tries its swap of directories when readers put the old one back in between.
_SWAP_ATTEMPTS = 5

IndexWriter = EngineWriter  # what SearchIndex.writer() yields



def engine_class(name: str) -> type[Engine]:
    """The class of engine ``name`` (its module is imported only now)."""
    if name == "whoosh":
        from .whoosh_engine import WhooshEngine

        return WhooshEngine
    if name == "tantivy":
        from .tantivy_engine import TantivyEngine

        return TantivyEngine
    if name == "postgres":
        from .postgres_engine import PostgresEngine

        return PostgresEngine
    raise SearchIndexError(f"unknown index engine {name!r}; use one of {', '.join(ENGINES)}")


class SearchIndex:
    """An archive's search index in a directory of its own.

    ``engine`` is the engine a new index is created with (the archive's config; default
    tantivy); an existing index keeps the engine its directory names. ``database`` is the
    archive's database, for an engine that keeps its index there (the others never use it).
    """

    def __init__(self, path: Path, *, engine: str | None = None, database: IndexDatabase | None = None) -> None:
        self.path = Path(path)
        self.database = database
        self.new_engine = engine or DEFAULT_ENGINE
        if self.new_engine not in ENGINES:
            raise SearchIndexError(f"unknown index engine {self.new_engine!r}; use one of {', '.join(ENGINES)}")
        self._recover_interrupted_swap()
        self._engine: Engine | None = None

    # --- which engine ------------------------------------------------------------------

    @property
    def engine_name(self) -> str:
        """The engine of the index on disk, or the one a new index would get.

        Raises SearchIndexError for an unreadable or newer marker.
        """
        return self._detect()[0]

    def _detect(self) -> tuple[str, int | None]:
        marker = read_marker(self.path) if self.path.is_dir() else None
        if marker is not None:
            return marker["engine"], marker.get("schema")
        if self.path.is_dir() and engine_class("whoosh").holds_index(self.path):
            return "whoosh", None  # made before engines were recorded: Whoosh was the only one
        return self.new_engine, None

    @property
    def engine(self) -> Engine:
        """The engine of this index, opened on first use (for searching).

        Raises SearchIndexError when its index was built with a schema this Dossier cannot read.
        """
        if self._engine is None:
            name, schema = self._detect()
            cls = engine_class(name)
            if schema is not None and schema != cls.schema_version:
                newer = schema > cls.schema_version
                raise SearchIndexError(
                    f"the search index at {self.path} was built by {'a newer' if newer else 'an older'} Dossier "
                    f"({name} schema {schema}, this one reads {cls.schema_version}); run `dossier reindex` "
                    "to rebuild it")
            self._engine = cls(self.path, database=self.database)
        return self._engine

    def takes_analysed(self, engine: str | None = None) -> bool:
        """Whether writing documents to this index (or, with ``engine``, to a rebuild with that
        engine) uses the tokens they carry (``Document.analysed``): then producing them ahead,
        in worker processes, saves the writing process that work."""
        try:
            return engine_class(engine or self.engine_name).takes_analysed
        except SearchIndexError:
            return False

    @property
    def is_shared(self) -> bool:
        """Whether the index lives in the archive's database, the same for every node of the
        archive (else it is files in this data directory)."""
        return engine_class(self.engine_name).in_database

    @property
    def exists(self) -> bool:
        return self.path.is_dir() and engine_class(self.engine_name).holds_index(self.path)

    def create(self) -> None:
        """Create an empty index (mode 0700 directory) if there is none, with the marker."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.exists:
            engine = engine_class(self.engine_name)(self.path, database=self.database)
            _write_marker(self.path, engine)  # first: a crash before the files leaves an index to create
            engine.create()
            self._forget()

    def open(self) -> Engine:
        """The engine, with an empty index created first where there is none (a deleted index
        answers "nothing found", and search warns that the database holds more).

        Raises SearchIndexError when the index cannot be opened.
        """
        if not self.exists:
            self.create()
        return self.engine

    # --- reading ---------------------------------------------------------------------------

    def doc_count(self) -> int:
        if not self.exists:
            return 0
        return self.engine.doc_count()

    def stored_documents(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        """Every live document's id and customer ids (for ``dossier check``), in index order.

        Raises SearchIndexError when the index cannot be opened.
        """
        if not self.exists:
            return
        yield from self.engine.stored_documents()

    # --- writing ---------------------------------------------------------------------------

    def open_writer(self) -> EngineWriter:
        """A writer to add documents with; finish it with ``commit()`` or ``cancel()``.

        Raises IndexLockedError when another process holds the index's write lock.
        """
        return self.open().open_writer()

    @contextmanager
    def writer(self) -> Iterator[EngineWriter]:
        """A writing session: committed when the block ends normally, cancelled on error.

        Raises IndexLockedError when another process holds the index's write lock.
        """
        wrapped = self.open_writer()
        try:
            yield wrapped
        except BaseException:
            wrapped.cancel()
            raise
        wrapped.commit()

    def feed(self, on_committed: OnCommitted, *, new_only: bool = False) -> Feed:
        """Documents for a long run, each with a key reported to ``on_committed`` once committed
        (see :class:`~index.engine.Feed`); ``new_only``: none of them is in the index yet."""
        return self.open().feed(on_committed, new_only=new_only)

    # --- rebuilding ------------------------------------------------------------------------

    def rebuild(
        self, docs: Iterable[Document], *, engine: str | None = None, verify: Callable[[int], None] | None = None
    ) -> int:
        """Build a fresh index from ``docs`` beside the live one (with ``engine``, else the live
        one's), check that it holds every document written and passes ``verify(count)``, then
        swap it in. The live index keeps answering until the swap; a failed or interrupted
        rebuild leaves it as it was.

        Raises SearchIndexError when the fresh index lacks documents, or what ``verify`` raises.
        """
        fresh = self.begin_rebuild(engine)
        try:
            written = fresh.engine.fill(docs)
            held = fresh.doc_count()
            if held != written:
                raise SearchIndexError(f"the rebuilt index holds {held} documents of the {written} written; "
                                       "the live index is left as it was")
            if verify is not None:
                verify(held)
        except BaseException:
            fresh.engine.close()
            shutil.rmtree(fresh.path, ignore_errors=True)
            raise
        self.swap_in(fresh)
        log.info("rebuilt index at %s with %d documents (%s)", self.path, held, fresh.engine_name)
        return held

    def begin_rebuild(self, engine: str | None = None) -> SearchIndex:
        """An empty index beside the live one (with ``engine``, else the live one's), for a
        rebuild to fill and :meth:`swap_in` to put in the live one's place; a leftover of an
        earlier, interrupted rebuild is removed first."""
        fresh_path = self.path.with_name(self.path.name + ".new")
        shutil.rmtree(fresh_path, ignore_errors=True)
        if engine is None:
            try:
                engine = self.engine_name
            except SearchIndexError:  # a damaged marker: the rebuild replaces it, as the config says
                engine = self.new_engine
        fresh = SearchIndex(fresh_path, engine=engine, database=self.database)
        fresh.create()
        return fresh

    def swap_in(self, fresh: SearchIndex) -> None:
        """Replace the live index with ``fresh`` (from :meth:`begin_rebuild`, committed)."""
        old_path = self.path.with_name(self.path.name + ".old")
        shutil.rmtree(old_path, ignore_errors=True)
        try:
            replaced = self.engine if self.exists else None
        except SearchIndexError:  # a damaged marker or an index of another schema: replaced all the same
            replaced = None
        fresh.engine.promote()
        if replaced is not None and replaced.name != fresh.engine.name:
            replaced.discard()
        fresh.engine.close()
        self._forget()
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

    def _forget(self) -> None:
        if self._engine is not None:
            self._engine.close()
        self._engine = None  # reopened, with the engine the directory now names

    def _recover_interrupted_swap(self) -> None:
        # A crash between the two renames of swap_in() leaves only the ".old" copy live.
        old_path = self.path.with_name(self.path.name + ".old")
        if not self.path.exists() and old_path.exists():
            old_path.rename(self.path)
