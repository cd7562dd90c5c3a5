"""An opened data directory: settings, database sessions, raw store and search index.

Kept apart from the pipeline so that commands which only read (search, show, status)
do not load the parser and its libraries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from ingest import Message, RawStore

from .db import check_url, make_engine, make_sessionmaker
from .identity import check_before_connecting, establish_identity
from .runtime import limit_malloc_arenas, resume_collector
from .settings import Settings, raw_store_key

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from index import SearchIndex
    from linker import Directory

Progress = Callable[[Iterable], Iterable]


def no_progress(items: Iterable) -> Iterable:
    """The progress wrapper that shows nothing (library default; the CLI passes a bar)."""
    return items


class Archive:
    """An opened data directory: settings, database sessions, raw store and search index."""

    def __init__(self, settings: Settings) -> None:
        resume_collector()
        limit_malloc_arenas()
        self.settings = settings
        check_before_connecting(settings)
        self.engine = make_engine(settings.database_url, source=settings.database_source)
        try:
            #: This data directory's id among the archive's nodes (``node.json``).
            self.node = establish_identity(settings, self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        self.sessions = make_sessionmaker(self.engine)
        self.raw = RawStore(settings.raw_path, fsync=settings.fsync, key=raw_store_key(settings))

    @property
    def shares_writes(self) -> bool:
        """Whether other processes, on other nodes too, may write while this one does (PostgreSQL:
        imports and syncs share the write lock); on SQLite every writer is alone."""
        return self.engine.dialect.name != "sqlite"

    @cached_property
    def index(self) -> SearchIndex:
        """The search index, opened on first use (its engine's modules take a while to import,
        which a sync that finds nothing new, or a command that only reads the database, never needs);
        a new index gets the engine the config names."""
        from index import IndexDatabase, SearchIndex

        database = IndexDatabase(self.engine.url.render_as_string(hide_password=False),
                                 check_url(self.settings.read_url, "[database] read_url") if self.settings.read_url
                                 else "")
        return SearchIndex(self.settings.index_path, engine=self.settings.index_engine, database=database)

    def directory(self, session: Session) -> Directory:
        from linker import load_directory, load_freemail  # the link rules; searching and counting do without

        s = self.settings
        return load_directory(
            session,
            own_domains=s.own_domains,
            own_addresses=s.own_addresses,
            freemail=load_freemail(extra=s.freemail_add, exclude=s.freemail_remove),
        )

    def close(self) -> None:
        self.engine.dispose()


def count_pending(session: Session) -> int:
    """Stored messages not yet in the search index."""
    return session.scalar(
        select(func.count()).select_from(Message).where(Message.status == "ok", Message.indexed_at.is_(None))
    ) or 0


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


class KeptArchive:
    """An archive a server keeps open between requests, opened afresh after the config file
    changed or a rebuild swapped the index directory (a kept searcher would go on reading the old
    one). Safe to share between threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._archive: Archive | None = None
        self._key: tuple | None = None
        self._lock = threading.Lock()

    def get(self) -> Archive:
        from .settings import load_settings

        index = _stamp(self.settings.index_path)
        key = (_stamp(self.settings.config_path), index and index[0])
        with self._lock:
            if self._archive is None or key != self._key:
                if self._archive is not None:
                    # Connections still checked out by another request finish their work first.
                    self._archive.close()
                    self._archive = None
                settings = load_settings(self.settings.data_dir, self.settings.config_path)
                self._archive, self._key = Archive(settings), key
            return self._archive

    def close(self) -> None:
        with self._lock:
            if self._archive is not None:
                self._archive.close()
                self._archive = None
