"""The interface every index engine implements, and the marker that names an index's engine.

An engine owns one directory: it creates it, writes documents into it (added or replaced by
message id, deleted, committed), counts them, lists their ids and customers, and runs a
:mod:`index.plan` query with a filter, sorted newest first or by relevance, a page at a time,
returning each hit's stored fields. Everything else (analysis, the query language, snippets,
rebuilding by swap) is shared and lives outside the engines.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import SearchIndexError

if TYPE_CHECKING:  # kept light: the config validates engine names with this module alone
    from .document import Document
    from .plan import Plan

#: The engines an archive can use; new archives get the first unless their config says otherwise.
ENGINES = ("tantivy", "whoosh", "postgres")
DEFAULT_ENGINE = ENGINES[0]
#: The engine that keeps its index in the archive's (PostgreSQL) database, shared by all its nodes.
DATABASE_ENGINE = "postgres"
#: The file in an index directory that names its engine and the schema it was built with; an
#: index without one was made by a Dossier that knew only Whoosh.
MARKER = "dossier-index.json"

#: Called with the keys of documents once they are committed (searchable and durable).
OnCommitted = Callable[[list[int]], None]


@dataclass(frozen=True)
class IndexDatabase:
    """The archive's database, for an engine that keeps its index there: its SQLAlchemy URL, and
    a read replica's that searches may use instead (empty: the same)."""

    url: str
    read_url: str = ""


@dataclass(frozen=True)
class StoredHit:
    """One matching document: its id, score (0.0 when not ranked), date and stored fields
    (the texts snippets are cut from and :data:`index.fields.STORED_ONLY_FIELDS`)."""

    id: str
    score: float
    date: datetime | None
    fields: Mapping[str, object]


@dataclass(frozen=True)
class Page:
    hits: tuple[StoredHit, ...]
    total: int  # matching documents, before offset and limit


class EngineWriter(ABC):
    """Adds, replaces and deletes documents until :meth:`commit` or :meth:`cancel`."""

    count: int = 0

    @abstractmethod
    def put(self, doc: Document) -> None:
        """Add ``doc``, replacing any document with the same id."""

    @abstractmethod
    def add_new(self, doc: Document) -> None:
        """Add ``doc`` known to be absent (faster than :meth:`put`)."""

    @abstractmethod
    def delete(self, doc_id: str) -> None:
        """Remove every document with this id."""

    @abstractmethod
    def commit(self) -> None:
        """Make the changes searchable and durable, and release the writer."""

    @abstractmethod
    def cancel(self) -> None:
        """Drop the changes since the last commit, and release the writer."""


class Feed(ABC):
    """Documents for a long run (an import, the pending ones), each with a key (the message id)
    reported to ``on_committed`` once it is committed. :meth:`finish` on success, :meth:`cancel`
    otherwise; what was not committed stays for the caller to index again."""

    @abstractmethod
    def add(self, documents: Sequence[tuple[int, Document]]) -> None: ...

    @abstractmethod
    def finish(self) -> None: ...

    @abstractmethod
    def cancel(self) -> None: ...

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.finish()
            except BaseException:
                self.cancel()
                raise
        else:
            self.cancel()


class Engine(ABC):
    """One engine's index in ``path``."""

    #: Its name in the marker and the config.
    name: str
    #: Bumped when what it writes changes so that older indexes must be rebuilt.
    schema_version: int
    #: Whether its writers index the tokens a document carries (``Document.analysed``) instead of
    #: analysing its texts again; an engine that does not ignores them.
    takes_analysed: bool = False

    #: Whether the index lives in the archive's database, one for every node of the archive
    #: (else files in one data directory, of one node).
    in_database: bool = False

    def __init__(self, path: Path, *, database: IndexDatabase | None = None) -> None:
        self.path = Path(path)
        self.database = database

    @classmethod
    @abstractmethod
    def holds_index(cls, path: Path) -> bool:
        """Whether ``path`` holds an index of this engine (perhaps a damaged one)."""

    @abstractmethod
    def create(self) -> None:
        """Write an empty index into the (existing, empty) directory."""

    @abstractmethod
    def doc_count(self) -> int: ...

    @abstractmethod
    def stored_documents(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        """Every live document's id and customer ids."""

    @abstractmethod
    def open_writer(self, **options: object) -> EngineWriter:
        """Raises IndexLockedError when another writer holds the index."""

    @abstractmethod
    def feed(self, on_committed: OnCommitted, *, new_only: bool = False) -> Feed:
        """A feed for a long run; ``new_only``: every document is known to be absent."""

    def fill(self, docs: Iterable[Document], **writer_options: object) -> int:
        """Write ``docs`` into this fresh index and commit; return how many."""
        writer = self.open_writer(**writer_options)
        try:
            for doc in docs:
                writer.add_new(doc)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        return writer.count

    @abstractmethod
    def search(self, query: Plan, filter: Plan | None, *, scored: bool, limit: int, offset: int = 0) -> Page:
        """Hits of ``query`` among the documents ``filter`` allows: by relevance when ``scored``,
        else newest first. Raises SearchIndexError when the index cannot be read."""

    def promote(self) -> None:  # noqa: B027  (a hook: most engines have nothing to do)
        """This freshly built index (of a rebuild) is about to replace the live one: an engine
        that keeps its index outside the directory puts it in place now."""

    def discard(self) -> None:  # noqa: B027  (a hook: most engines have nothing to do)
        """This index was replaced by one of another engine: drop what it keeps outside its
        directory (the directory itself is removed after)."""

    @abstractmethod
    def close(self) -> None:
        """Let go of open files (before the directory is swapped away)."""


class WriterFeed(Feed):
    """A feed over one writer in this process, committed every ``commit_every`` documents."""

    def __init__(self, engine: Engine, on_committed: OnCommitted, *, new_only: bool, commit_every: int) -> None:
        self._engine = engine
        self._on_committed = on_committed
        self._new_only = new_only
        self._commit_every = commit_every
        self._writer: EngineWriter | None = None
        self._pending: list[int] = []

    def add(self, documents: Sequence[tuple[int, Document]]) -> None:
        if not documents:
            return
        if self._writer is None:
            self._writer = self._engine.open_writer()
        write = self._writer.add_new if self._new_only else self._writer.put
        for key, doc in documents:
            write(doc)
            self._pending.append(key)
        if len(self._pending) >= self._commit_every:
            self._commit(self._writer, last=False)
            self._done()

    def _commit(self, writer: EngineWriter, *, last: bool) -> None:
        writer.commit()

    def _done(self) -> None:
        self._writer = None
        keys, self._pending = self._pending, []
        self._on_committed(keys)

    def finish(self) -> None:
        if self._writer is not None:
            self._commit(self._writer, last=True)
            self._done()

    def cancel(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            self._pending = []
            writer.cancel()


# --- the marker ------------------------------------------------------------------------------


def read_marker(path: Path) -> dict | None:
    """The marker of the index in ``path``, or None when it has none.

    Raises SearchIndexError for a marker that cannot be read.
    """
    try:
        data = json.loads((Path(path) / MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SearchIndexError(f"the search index at {path} has an unreadable {MARKER} ({exc}); "
                               "run `dossier reindex` to rebuild it") from exc
    if not isinstance(data, dict) or data.get("engine") not in ENGINES:
        raise SearchIndexError(f"the search index at {path} names an engine this Dossier does not know "
                               f"({data.get('engine') if isinstance(data, dict) else data!r}); "
                               "run `dossier reindex` to rebuild it")
    return data


def write_marker(path: Path, engine: Engine) -> None:
    """Name ``engine`` in ``path`` (written to a temporary name and renamed into place)."""
    target = Path(path) / MARKER
    tmp = target.with_name(MARKER + ".tmp")
    tmp.write_text(json.dumps({"engine": engine.name, "schema": engine.schema_version}) + "\n", encoding="utf-8")
    os.replace(tmp, target)
