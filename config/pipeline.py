"""The import pipeline in one place: source -> raw store -> parse -> rows -> link -> index.

Per batch: the new messages are parsed and read once (attachment text, quotes, their raw
blobs encoded and index tokens produced: :mod:`config.readers`, in worker processes a few
batches ahead) before any write transaction opens; the raw bytes are written to the raw store
before anything else; then one database transaction saves messages, participants, folder
copies and links (and a caller's own writes, such as an IMAP cursor); then the index documents
are committed, then the messages are marked indexed. A crash at any point leaves raw blobs
without rows (harmless, reused on the next run) or rows not yet indexed (picked up by
:func:`index_pending` at the start of the next run).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from index import Document, SearchIndexError, build_document, complete_document
from ingest import (
    SHORT_ID_LENGTH,
    Message,
    RawItem,
    RawStoreError,
    add_copy,
    detect_kind,
    hash_bytes,
    iter_source,
    mark_variants,
    record_reading,
    save_participants,
    set_indexed_at,
    store_failed,
    store_message,
    utcnow,
)
from linker import Directory, affected_messages, customers_by_message, link_message, relink, relink_replies

from .archive import Archive, Progress, no_progress
from .readers import Batch, Read, Readers, auto_workers, read_item
from .settings import check_writable

if TYPE_CHECKING:
    from index import Feed

log = logging.getLogger(__name__)


@dataclass
class ImportReport:
    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    partial: int = 0  # stored, but read partially (see ParsedMessage.partial)
    linked: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)
    partials: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason): read partially
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # files a source could not read
    #: What a source noticed that makes a count doubtful (an mbox whose messages seem run together).
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (origin, note)
    interrupted: bool = False  # stopped on request (Ctrl-C) after the batch in flight was committed

    def summary(self) -> dict:
        """The counts (and ``"interrupted": true`` when it was)."""
        counts = {
            "seen": self.seen,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "partial": self.partial,
            "linked": self.linked,
            "seconds": round(self.seconds, 3),
            "unreadable": len(self.unreadable),
            "warnings": len(self.warnings),
        }
        return {**counts, "interrupted": True} if self.interrupted else counts


#: Seconds after which a partial raw file in the shared store is a dead writer's (a live one
#: renames it into place within seconds).
PARTIAL_AGE = 3600
#: Times a batch is saved when another node's transaction stores the same messages at once.
_CONCURRENT_ATTEMPTS = 3
#: A batch is also cut when its raw messages reach this size, so a run of huge messages
#: (50 MB scans attached to every mail) cannot hold gigabytes in memory at once.
BATCH_BYTES = 64 * 1024 * 1024
#: Batches read ahead (by the readers' workers) of the one being saved: enough to keep them busy
#: while this process writes, few enough to bound memory (each is at most BATCH_BYTES).
READ_AHEAD = 2


def import_paths(
    archive: Archive,
    paths: Sequence[Path],
    *,
    account: str = "local",
    progress: Progress = no_progress,
    should_stop: Callable[[], bool] = lambda: False,
) -> ImportReport:
    """Import every message under ``paths``; re-running adds nothing already stored.

    Once ``should_stop()`` is true no further message is read: the batches in flight (read ahead,
    at most ``READ_AHEAD + 1``) are saved and indexed, and the report says it was interrupted
    (running the import again continues it).

    Raises SourceError for a path that cannot be read at all (before anything is written),
    RawStoreError / SearchIndexError when the data directory cannot be written.
    """
    check_writable(archive.settings.data_dir)
    for path in paths:  # every path must be readable before anything is written
        detect_kind(Path(path))
    with Importer(archive, account) as importer:
        items = _iter_paths(paths, importer.report, archive.settings.data_dir)
        importer.add(itertools.takewhile(lambda _: not should_stop(), items), progress)
    importer.report.interrupted = should_stop()
    log.info("import: %s", importer.report.summary())
    return importer.report


def _iter_paths(paths: Sequence[Path], report: ImportReport, data_dir: Path) -> Iterator[RawItem]:
    def unreadable(origin: str, reason: str) -> None:
        log.warning("cannot read %s: %s", origin, reason)
        report.unreadable.append((origin, reason))

    # Importing a folder that holds the archive itself (say, the home directory) must not
    # import the archive's own files (database, config, locks, raw store).
    own = str(Path(data_dir).resolve()) + "/"
    for path in paths:
        for item in iter_source(Path(path), on_error=unreadable):
            if not str(Path(item.origin.split("#", 1)[0]).resolve()).startswith(own):
                yield item


class Importer:
    """The pipeline for any source: raw items in, stored, parsed, linked and indexed out.

    Items are cut into batches (``batch_size`` messages or :data:`BATCH_BYTES`); each batch is
    read (:class:`~config.readers.Readers`, :data:`READ_AHEAD` batches ahead), written to the raw
    store, then saved in one transaction. One index writer serves the whole run. :meth:`add_batch`
    commits one batch at once, with the caller's own writes (an IMAP sync's cursor) in the same
    transaction.
    """

    def __init__(self, archive: Archive, account: str, *, readers: Readers | None = None) -> None:
        """``readers``: who reads the new messages (default: the workers ``[import] workers`` says)."""
        check_writable(archive.settings.data_dir)
        self.archive = archive
        self.account = account
        self.report = ImportReport()
        self._started = time.monotonic()
        # Messages of this run re-linked by a later batch (a reply stored before the message it
        # answers): the documents already queued for them are out of date, so they must not be
        # marked indexed when those are committed; index_pending re-indexes them at the end.
        self._stale: set[int] = set()
        self._indexer = _Indexer(archive, new_only=True, stale=self._stale)
        self._readers = readers or readers_for(archive)

    def __enter__(self) -> Importer:
        # Left by a killed run. Where other nodes import at the same time (they share the write
        # lock), only files too old to be a live writer's.
        self.archive.raw.remove_partial(older_than=PARTIAL_AGE if self.archive.shares_writes else 0)
        index_pending(self.archive)
        with self.archive.sessions() as session:
            self.directory = self.archive.directory(session)
        return self

    def add(self, items: Iterable[RawItem], progress: Progress = no_progress) -> None:
        """Import ``items``, reading the next batches while each is saved."""
        ahead: deque[tuple[list[RawItem], Batch]] = deque()
        for batch in _batches(progress(items), self.archive.settings.batch_size):
            ahead.append((batch, self._read(batch)))
            if len(ahead) > READ_AHEAD:
                self._save(*ahead.popleft())
        while ahead:
            self._save(*ahead.popleft())

    def add_batch(self, items: Sequence[RawItem], *, with_batch: Callable[[Session], None] | None = None) -> list[int]:
        """Store, save and queue for indexing one batch; return its messages' ids (in order).
        When this returns, the batch is committed to the database, together with what
        ``with_batch(session)`` wrote in its transaction."""
        return self._save(list(items), self._read(items), with_batch)

    def _read(self, items: Sequence[RawItem]) -> Batch:
        """Start reading the messages of ``items`` not stored yet (each once)."""
        shas = [hash_bytes(item.data) for item in items]
        with self.archive.sessions() as session:
            stored = set(session.scalars(select(Message.sha256).where(Message.sha256.in_(set(shas)))))
        tasks = {sha: (sha, item.data, item.origin) for item, sha in zip(items, shas, strict=True) if sha not in stored}
        return self._readers.submit(list(tasks.values()))

    def _save(self, items: list[RawItem], batch: Batch,
              with_batch: Callable[[Session], None] | None = None) -> list[int]:
        read = self._readers.result(batch)
        # Raw bytes are stored before anything else: durable before any row points at them.
        written = self.archive.raw.put_many([item.data for item in items],
                                            encoded={sha: r.blob for sha, r in read.items() if r.blob is not None})
        stored = [(item, sha) for item, (sha, _) in zip(items, written, strict=True)]
        self.report.seen += len(stored)
        self.report.warnings += [(item.origin, note) for item in items for note in item.notes]
        for attempt in range(_CONCURRENT_ATTEMPTS):
            before = replace(self.report, failures=list(self.report.failures), partials=list(self.report.partials))
            try:
                documents, ids, relinked = _import_batch(self.archive, stored, read, self.account,
                                                         self.directory, self.report, with_batch)
                break
            except IntegrityError:
                # Another node stored some of these messages (or copies) in the same moment: its
                # transaction won. Saved again, the batch finds them stored and adds only the rest.
                self.report = before
                if attempt == _CONCURRENT_ATTEMPTS - 1:
                    raise
                log.info("another writer stored part of this batch at the same time; saving it again")
        self._stale |= relinked
        if self.archive.shares_writes and documents:
            self._stale |= _relink_across_writers(self.archive, self.directory, [key for key, _ in documents])
        self._indexer.add(documents)
        return ids

    def __exit__(self, exc_type, exc, tb) -> None:
        self._readers.close()
        self._indexer.__exit__(exc_type, exc, tb)
        if exc_type is None:
            index_pending(self.archive)  # earlier replies whose links this run changed
        self.report.seconds = time.monotonic() - self._started


def readers_for(archive: Archive, engine: str | None = None, *, storing: bool = True) -> Readers:
    """The readers ``archive``'s config asks for, producing what its index (or a rebuild with
    ``engine``) takes and, when ``storing`` new messages, the raw store's blobs."""
    workers = archive.settings.workers
    return Readers(auto_workers() if workers is None else workers, encoder=archive.raw.encoder if storing else None,
                   analyse=archive.index.takes_analysed(engine), parser=archive.settings.parser)


def _batches(items: Iterable[RawItem], size: int) -> Iterator[list[RawItem]]:
    """``items`` cut into batches of ``size`` messages or :data:`BATCH_BYTES`."""
    batch: list[RawItem] = []
    batch_bytes = 0
    for item in items:
        batch.append(item)
        batch_bytes += len(item.data)
        if len(batch) >= size or batch_bytes >= BATCH_BYTES:
            yield batch
            batch, batch_bytes = [], 0
    if batch:
        yield batch


def _import_batch(
    archive: Archive,
    batch: list[tuple[RawItem, str]],
    read: dict[str, Read],
    account: str,
    directory: Directory,
    report: ImportReport,
    with_batch: Callable[[Session], None] | None = None,
) -> tuple[list[tuple[int, Document]], list[int], set[int]]:
    """Save one batch in one transaction (with the caller's ``with_batch`` writes); return the
    index documents of the new messages, the ids of every message in the batch, and the ids of
    earlier messages it re-linked. ``read``: the batch's new messages as read, by SHA-256 (a
    message missing there, stored by another process meanwhile, is read now)."""
    now = utcnow()
    new: list[tuple[Message, Read]] = []
    placed: list[tuple[RawItem, Message]] = []
    with archive.sessions.begin() as session:
        shas = list({sha for _, sha in batch})
        known = {m.sha256: m for m in session.scalars(select(Message).where(Message.sha256.in_(shas)))}
        for item, sha in batch:
            message = known.get(sha)
            if message is not None:
                report.duplicates += 1
            else:
                outcome = read.get(sha) or read_item(item.data, item.origin, archive.settings.parser)
                message = known[sha] = _store(session, item, sha, outcome, now, report)
                if outcome.parsed is not None:
                    new.append((message, outcome))
            placed.append((item, message))
        mark_variants(session, [m for m, _ in new])
        session.flush()  # one flush gives every new message its id
        save_participants(session, [(m, r.parsed) for m, r in new])
        for message, outcome in new:
            if link_message(session, message, outcome.parsed.participants, directory, is_new=True):
                report.linked += 1
        for item, message in placed:
            add_copy(session, message, account, item, now)
        session.flush()
        # A reply stored before the message it answers inherits that message's links now.
        replies = relink_replies(session, directory, [m for m, _ in new])
        relinked = replies - {m.id for m, _ in new}
        set_indexed_at(session, sorted(relinked), None)  # re-indexed at the end of the run
        if with_batch is not None:
            with_batch(session)
        return _documents(session, new), [m.id for _, m in placed], relinked


def _relink_across_writers(archive: Archive, directory: Directory, new_ids: list[int]) -> set[int]:
    """After a batch commits where other nodes write at the same time: link again the batch's
    replies and the replies to its messages. A reply and the message it answers stored by two
    nodes in the same moment did not see each other (neither transaction had committed), so the
    reply missed the links it inherits. Return the messages whose customers changed (waiting to
    be indexed again)."""
    with archive.sessions.begin() as session:
        new = session.scalars(select(Message).where(Message.id.in_(new_ids))).all()
        changed = set(relink(session, directory, [m.id for m in new if m.in_reply_to]).changed)
        changed |= relink_replies(session, directory, new)
        set_indexed_at(session, sorted(changed), None)
    return changed


def _store(session: Session, item: RawItem, sha: str, outcome: Read, now: datetime, report: ImportReport) -> Message:
    if outcome.parsed is None:
        report.failed += 1
        report.failures.append((item.origin, outcome.error))
        return store_failed(session, item, sha, now, outcome.error)
    report.stored += 1
    if outcome.parsed.partial:
        report.partial += 1
        report.partials.append((item.origin, outcome.parsed.partial))
        log.warning("read %s partially: %s", item.origin, outcome.parsed.partial)
    return store_message(session, item, sha, outcome.parsed, outcome.reading, now)


def _documents(session: Session, new: Sequence[tuple[Message, Read]]) -> list[tuple[int, Document]]:
    customers = customers_by_message(session, [m.id for m, _ in new])
    return [(m.id, _document(m, r, customers.get(m.id, ()))) for m, r in new]


def _document(message: Message, read: Read, customers: Iterable[int]) -> Document:
    """The index document of a stored message (import, pending and reindex all come here)."""
    draft = read.draft or build_document(message.sha256, read.parsed, read.reading, date=message.date)
    return complete_document(
        draft,
        date=message.date,
        customers=customers,
        # Gmail labels are searched as folders, as a Gmail label is a folder over IMAP.
        folders=[c.folder for c in message.copies] + [label for c in message.copies for label in c.labels or ()],
        accounts=[c.account for c in message.copies],
    )




class _Indexer:
    """One index feed for a whole run (see :meth:`index.SearchIndex.feed`): each commit the
    index reports marks its messages indexed. On an error the uncommitted documents are dropped
    and their messages stay unindexed for :func:`index_pending`. ``new_only``: every message
    given was stored by this run, so none can be in the index yet."""

    def __init__(self, archive: Archive, *, new_only: bool = False, stale: Set[int] = frozenset()) -> None:
        self.archive = archive
        self.new_only = new_only
        self.stale = stale  # never marked indexed: their documents are out of date
        self.feed: Feed | None = None

    def __enter__(self) -> _Indexer:
        return self

    def add(self, documents: list[tuple[int, Document]]) -> None:
        if not documents:
            return
        if self.feed is None:
            self.feed = self.archive.index.feed(self._mark_indexed, new_only=self.new_only)
        self.feed.add(documents)

    def _mark_indexed(self, ids: list[int]) -> None:
        with self.archive.sessions.begin() as session:
            set_indexed_at(session, [i for i in ids if i not in self.stale], utcnow())

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.feed is None:
            return
        feed, self.feed = self.feed, None
        feed.__exit__(exc_type, exc, tb)


#: Stored messages re-read per chunk by a reindex (fewer when their raw bytes exceed BATCH_BYTES).
REINDEX_CHUNK = 500

#: A stored message to re-read: its id and SHA-256 (and raw size, for cutting chunks).
_StoredRow = tuple[int, str, int]


def _read_stored(archive: Archive, rows: Sequence[_StoredRow], readers: Readers) -> tuple[list[int], Batch]:
    """Start re-reading stored messages from the raw store (in ``readers``' workers); return
    their ids and the batch to wait for with :func:`_documents_read`."""
    tasks = []
    for _, sha, _ in rows:
        try:
            tasks.append((sha, archive.raw.get(sha), sha[:SHORT_ID_LENGTH]))
        except RawStoreError as exc:  # one lost blob must not stop a reindex
            log.warning("message %s cannot be indexed: %s", sha[:SHORT_ID_LENGTH], exc)
    return [ident for ident, _, _ in rows], readers.submit(tasks)


def _documents_read(session: Session, ids: Sequence[int], batch: Batch,
                    readers: Readers) -> list[tuple[int, Document]]:
    """The index documents of the stored messages ``ids``, once ``readers`` have read ``batch``
    (from :func:`_read_stored`); their attachments' text status is recorded in ``session``."""
    read = readers.result(batch)
    messages = session.scalars(
        select(Message).where(Message.id.in_(ids)).order_by(Message.id)
        .options(selectinload(Message.attachments), selectinload(Message.copies))
    ).all()
    customers = customers_by_message(session, [m.id for m in messages])
    docs = []
    # The attachments' text status is written when the caller commits, not at the next lazy
    # load: a write transaction held across parsing and extraction would block imports.
    with session.no_autoflush:
        for message in messages:
            outcome = read.get(message.sha256)
            if outcome is None:
                continue
            if outcome.parsed is None:
                log.warning("message %s cannot be indexed: %s", message.short_id, outcome.error)
                continue
            record_reading(message, outcome.reading)
            docs.append((message.id, _document(message, outcome, customers.get(message.id, ()))))
    return docs


def _stored_chunks(rows: Sequence[_StoredRow], size: int) -> Iterator[Sequence[_StoredRow]]:
    """``rows`` cut into chunks of ``size`` messages or :data:`BATCH_BYTES` of raw bytes."""
    start, total = 0, 0
    for n, (_, _, raw_size) in enumerate(rows):
        total += raw_size
        if n + 1 - start >= size or total >= BATCH_BYTES:
            yield rows[start:n + 1]
            start, total = n + 1, 0
    if start < len(rows):
        yield rows[start:]


def index_pending(archive: Archive) -> int:
    """Index the stored messages that are not indexed yet (after a crash, a relink or a reindex
    that raced an import); return how many were indexed. The next batch is read (in the
    workers) while this one is indexed."""
    done, last_id = 0, 0
    ahead: deque[tuple[list[int], Batch]] = deque()
    with _Indexer(archive) as indexer, readers_for(archive, storing=False) as readers:
        while True:
            # One batch is read ahead of the one indexed (more only when a batch's raw bytes were
            # cut into several chunks): the raw bytes held at once stay bounded.
            if last_id is not None and len(ahead) < 2:
                with archive.sessions() as session:
                    rows = session.execute(
                        select(Message.id, Message.sha256, Message.size)
                        .where(Message.status == "ok", Message.indexed_at.is_(None), Message.id > last_id)
                        .order_by(Message.id)
                        .limit(archive.settings.batch_size)
                    ).all()
                if rows:
                    last_id = rows[-1][0]
                    ahead.extend(_read_stored(archive, chunk, readers)
                                 for chunk in _stored_chunks(rows, archive.settings.batch_size))
                    continue
                last_id = None
            if not ahead:
                return done
            ids, batch = ahead.popleft()
            with archive.sessions.begin() as session:  # commits the attachments' text status
                docs = _documents_read(session, ids, batch, readers)
            indexer.add(docs)
            indexed = {mid for mid, _ in docs}
            skipped = [i for i in ids if i not in indexed]
            if skipped:  # no longer parses (or its raw file is lost): not retried on every run
                with archive.sessions.begin() as session:
                    set_indexed_at(session, skipped, utcnow())
            done += len(docs)


def reindex(archive: Archive, progress: Progress = no_progress, *, engine: str | None = None) -> int:
    """Rebuild the whole search index from the raw store and database; return documents indexed.

    The new index is built beside the live one and swapped in when complete; the live one
    answers until then. ``engine`` converts the archive to that engine: then every stored
    message must be in the new index (a raw file that cannot be read stops the conversion,
    and the old index stays), where a plain rebuild skips it with a warning.

    Raises SearchIndexError (the live index unchanged) when the new index falls short.
    """
    started = utcnow()
    # What the rebuild covers is told by id, not by time: ids only grow, while the clock can be
    # set back (a message "stored in the future" would otherwise be left out of the new index).
    with archive.sessions() as session:
        last_id = session.scalar(select(func.max(Message.id))) or 0
        expected = session.scalar(select(func.count()).select_from(Message).where(
            Message.status == "ok", Message.id <= last_id)) or 0

    def documents() -> Iterator[tuple[int, Document]]:
        # Each chunk is read (in the workers) while the one before it is indexed.
        with archive.sessions() as session, readers_for(archive, engine, storing=False) as readers:
            rows = session.execute(select(Message.id, Message.sha256, Message.size)
                                   .where(Message.status == "ok", Message.id <= last_id)
                                   .order_by(Message.id)).all()
            session.rollback()
            ahead: deque[tuple[list[int], Batch]] = deque()
            for chunk in itertools.chain(_stored_chunks(rows, REINDEX_CHUNK), [None]):
                if chunk is not None:
                    ahead.append(_read_stored(archive, chunk, readers))
                while ahead and (len(ahead) > 1 or chunk is None):
                    yield from _documents_read(session, *ahead.popleft(), readers)
                    session.commit()  # the attachments' text status
                    session.expunge_all()

    def verify(count: int) -> None:
        if engine is not None and count != expected:
            raise SearchIndexError(
                f"the new {engine} index holds {count} of the {expected} stored messages (see the warnings "
                "above; `dossier check` names missing raw files); the archive keeps its current index")

    count = archive.index.rebuild((doc for _, doc in progress(documents())), engine=engine, verify=verify)
    with archive.sessions.begin() as session:
        session.execute(
            update(Message).where(Message.status == "ok", Message.id <= last_id).values(indexed_at=started)
        )
        # Stored while the rebuild ran: an import may have indexed them into the index just replaced.
        session.execute(update(Message).where(Message.id > last_id).values(indexed_at=None))
    index_pending(archive)
    return count


def relink_all(archive: Archive, message_ids: Iterable[int] | None = None) -> int:
    """Recompute links (all messages, or those given) and re-index the messages whose customers changed."""
    with archive.sessions.begin() as session:
        report = relink(session, archive.directory(session), message_ids)
        changed = sorted(report.changed)
        set_indexed_at(session, changed, None)
    index_pending(archive)
    return len(changed)


def change_customers(archive: Archive, change: Callable[[Session], Iterable[int] | None]) -> int:
    """Apply ``change`` to the customer records and re-link exactly the messages it affects, in
    one transaction; re-index those whose customers changed and return how many did.

    The affected messages are found by looking up, in the participants table, the addresses
    and domains whose owners differ before and after the change, plus the messages ``change``
    returns (those linked to a customer it deleted) and the replies below them; the result
    equals a full relink. Errors from ``change`` (LinkError …) roll everything back.
    """
    with archive.sessions.begin() as session:
        relinked, changed = apply_customer_change(archive, session, change)
        set_indexed_at(session, changed, None)
    if changed:
        index_pending(archive)
    log.info("customer change: %d messages re-linked, %d changed", relinked, len(changed))
    return len(changed)


def apply_customer_change(
    archive: Archive, session: Session, change: Callable[[Session], Iterable[int] | None]
) -> tuple[int, list[int]]:
    """Inside ``session``: apply ``change`` and re-link the messages it affects (see
    :func:`change_customers`). Return how many were re-linked and the ids whose customers changed."""
    before = archive.directory(session)
    extra = set(change(session) or ())
    session.flush()
    after = archive.directory(session)
    ids = affected_messages(session, before, after) | extra
    report = relink(session, after, ids) if ids else None
    return (report.messages if report else 0), sorted(set(report.changed if report else ()) | extra)
