"""The Whoosh writer in a child process, so that indexing uses the second core.

Whoosh is pure Python and took over half of an import's time; in the importing process it
ran after parsing and saving each batch, on one core. Here the importing process stores,
parses, links and saves batch N+1 while the child analyses and writes batch N. The child is
the only index writer (it holds Whoosh's write lock); it commits every ``commit_every``
documents and at the end, and reports each commit's message ids back, and only then are
those messages marked indexed. Whatever the child has not committed when anything fails
is never reported, so the caller indexes it again later (the importer's messages stay
unindexed in the database for ``index_pending``).

The child dies with its parent (``PR_SET_PDEATHSIG`` on Linux, and a parent check while
it waits), so a killed import never leaves a writer holding the index lock.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .document import Document
from .engine import Feed
from .errors import IndexLockedError, SearchIndexError

log = logging.getLogger(__name__)

#: Batches of documents queued for the child at most; bounds the memory in flight.
MAX_QUEUED_BATCHES = 4
#: Seconds between checks that the other side is still alive while waiting on a queue.
_POLL = 0.5


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - not glibc: the parent check remains
            pass


def _run_writer(opener: Callable[[Path], Any], path: str, commit_every: int, limitmb: int, jobs, done,
                parent: int) -> None:
    """The child: open the index with ``opener`` (the Whoosh engine's class), add the documents it
    receives, commit, report committed ids."""
    _die_with_parent()
    writer = None
    pending: list[int] = []
    try:
        index = opener(Path(path))
        while True:
            try:
                kind, payload = jobs.get(timeout=_POLL)
            except queue.Empty:
                if os.getppid() != parent:
                    return  # orphaned: the parent died; nothing uncommitted may be kept
                continue
            if kind == "add":
                if writer is None:
                    writer = index.open_writer(limitmb=limitmb)
                for message_id, doc in payload:
                    writer.add_new(doc)
                    pending.append(message_id)
                if len(pending) >= commit_every:
                    # Small commits keep the final one (a flush of everything since the last,
                    # which nothing overlaps) short; merges, when due, overlap the parent's work.
                    writer.commit(merge=None)
                    writer = None
                    done.put(("committed", pending))
                    pending = []
            elif kind == "finish":
                if writer is not None:
                    writer.commit(merge=None)  # merge only when segments pile up
                    writer = None
                done.put(("committed", pending))
                done.put(("finished", None))
                return
            else:  # "cancel"
                return
    except BaseException as exc:  # reported to the parent, which raises it
        kind = "locked" if isinstance(exc, IndexLockedError) else "error"
        log.debug("the index writer failed", exc_info=True)
        # One line, and the OS error number (a full disk) for the parent to tell the user.
        text = f"{exc}" if isinstance(exc, SearchIndexError) else f"{type(exc).__name__}: {exc}"
        done.put((kind, (" ".join(text.split()), exc.errno if isinstance(exc, OSError) else None)))
    finally:
        if writer is not None:
            try:
                writer.cancel()
            except Exception:  # the failure above (a full disk) was reported; cancelling meets it again
                log.debug("cancelling the index writer failed", exc_info=True)


class ChildFeed(Feed):
    """Feeds documents to a child index writer; ``on_committed(ids)`` runs in this process
    for each commit the child reports. Use :meth:`finish` on success, :meth:`cancel` otherwise.

    Raises (from :meth:`add` and :meth:`finish`) IndexLockedError when another process
    holds the index's write lock, SearchIndexError when the child failed or died.
    """

    def __init__(
        self,
        path: Path,
        on_committed: Callable[[list[int]], None],
        *,
        opener: Callable[[Path], Any],
        commit_every: int,
        limitmb: int = 256,
    ) -> None:
        # fork starts in milliseconds and the child needs nothing re-imported; it never
        # touches the parent's database connections.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        self._jobs = ctx.Queue(MAX_QUEUED_BATCHES)
        self._done = ctx.Queue()
        self._on_committed = on_committed
        self._process = ctx.Process(
            target=_run_writer,
            args=(opener, str(path), commit_every, limitmb, self._jobs, self._done, os.getpid()),
            name="dossier-index-writer",
            daemon=True,
        )
        self._process.start()
        self._finished = False

    def add(self, documents: Sequence[tuple[int, Document]]) -> None:
        if not documents:
            return
        self._send(("add", list(documents)))
        self._collect(block=False)

    def finish(self) -> None:
        """Commit (merging segments) and wait for the child to end."""
        self._send(("finish", None))
        while not self._finished:
            self._collect(block=True)
        self._process.join()

    def cancel(self) -> None:
        """Drop what the child has not committed and stop it."""
        if self._process.is_alive():
            try:
                self._jobs.put(("cancel", None), timeout=_POLL)
            except queue.Full:
                pass
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._jobs.cancel_join_thread()  # do not block on documents the child will never read

    def _send(self, item: tuple) -> None:
        while True:
            try:
                self._jobs.put(item, timeout=_POLL)
                return
            except queue.Full:
                self._collect(block=False)
                self._check_alive()

    def _collect(self, *, block: bool) -> None:
        while True:
            try:
                kind, payload = self._done.get(timeout=_POLL) if block else self._done.get_nowait()
            except queue.Empty:
                if block:
                    self._check_alive()
                    continue
                return
            if kind == "committed":
                if payload:
                    self._on_committed(payload)
            elif kind == "finished":
                self._finished = True
                return
            elif kind == "locked":
                raise IndexLockedError(payload[0])
            else:
                text, number = payload
                cause = OSError(number, os.strerror(number)) if number else None
                raise SearchIndexError(f"the index writer failed: {text}") from cause
            block = False  # got one: take the rest without waiting

    def _check_alive(self) -> None:
        if not self._process.is_alive():
            # It may have reported before it ended.
            try:
                self._collect(block=False)
            finally:
                if not self._finished:
                    raise SearchIndexError(
                        f"the index writer process ended unexpectedly (exit {self._process.exitcode})"
                    )


#: Documents sent to a rebuild's child writer at a time (at most MAX_QUEUED_BATCHES queued).
FILL_BATCH = 100


def fill_in_child(path: Path, docs: Iterable[Document], *, opener: Callable[[Path], Any]) -> int:
    """Write ``docs`` into the fresh index at ``path`` (opened with ``opener``) from a child
    writer, one commit at the end (so one segment); return how many. Raises what the child raises."""
    feed = ChildFeed(path, lambda keys: None, opener=opener, commit_every=sys.maxsize, limitmb=256)
    count = 0
    batch: list[tuple[int, Document]] = []
    try:
        for doc in docs:
            batch.append((count, doc))
            count += 1
            if len(batch) >= FILL_BATCH:
                feed.add(batch)
                batch = []
        feed.add(batch)
        feed.finish()
    except BaseException:
        feed.cancel()
        raise
    return count
