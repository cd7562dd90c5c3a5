"""The import pipeline in one place: source -> raw store -> parse -> rows -> link -> index.

Per batch: raw bytes are written to the raw store first, then one database
transaction saves messages, participants, folder copies and links, then the index
documents are committed, then the messages are marked indexed. A crash at any point
leaves raw blobs without rows (harmless, reused on the next run) or rows not yet
indexed (picked up by :func:`index_pending` at the start of the next run).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from index import Document, build_document
from ingest import (
    AttachmentRow,
    Message,
    MessageCopy,
    ParsedMessage,
    ParseError,
    ParticipantRow,
    RawItem,
    RawStoreError,
    detect_kind,
    iter_source,
)
from linker import Directory, customers_by_message, link_message, relink, relink_replies

from .archive import Archive, Progress, no_progress
from .settings import check_writable

if TYPE_CHECKING:
    from .workers import IndexProcess

log = logging.getLogger(__name__)


# The parser and the attachment readers load mail-parser, BeautifulSoup and the charset
# detector (about 0.4 s): imported when the first message arrives, not by every command that
# opens the pipeline (a sync that finds nothing new never needs them).
def parse_message(raw: bytes) -> ParsedMessage:
    from ingest import parse_message as parse

    return parse(raw)


def extract_attachments(attachments):
    from ingest import extract_attachments as extract

    return extract(attachments)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)

@dataclass
class ImportReport:
    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    linked: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # files a source could not read

    def summary(self) -> dict:
        return {
            "seen": self.seen,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "linked": self.linked,
            "seconds": round(self.seconds, 3),
            "unreadable": len(self.unreadable),
        }


@dataclass
class _Outcome:
    message: Message
    parsed: ParsedMessage | None


#: A batch is also cut when its raw messages reach this size, so a run of huge messages
#: (50 MB scans attached to every mail) cannot hold gigabytes in memory at once.
BATCH_BYTES = 64 * 1024 * 1024


def import_paths(
    archive: Archive,
    paths: Sequence[Path],
    *,
    account: str = "local",
    progress: Progress = no_progress,
) -> ImportReport:
    """Import every message under ``paths``; re-running adds nothing already stored.

    Raises SourceError for a path that cannot be read at all (before anything is written),
    RawStoreError / SearchIndexError when the data directory cannot be written.
    """
    check_writable(archive.settings.data_dir)
    for path in paths:  # every path must be readable before anything is written
        detect_kind(Path(path))
    with Importer(archive, account) as importer:
        importer.add(_iter_paths(paths, importer.report, archive.settings.data_dir), progress)
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
    written to the raw store, then saved in one transaction. One index writer serves the whole
    run. :meth:`add_batch` commits one batch at once, for callers (IMAP sync) that move a
    cursor after each batch.
    """

    def __init__(self, archive: Archive, account: str) -> None:
        check_writable(archive.settings.data_dir)
        self.archive = archive
        self.account = account
        self.report = ImportReport()
        self._started = time.monotonic()
        self._indexer = _ChildIndexer(archive) if USE_INDEX_PROCESS else _Indexer(archive)

    def __enter__(self) -> Importer:
        self.archive.raw.remove_partial()  # left by a killed run; writers hold the write lock
        index_pending(self.archive)
        with self.archive.sessions() as session:
            self.directory = self.archive.directory(session)
        return self

    def add(self, items: Iterable[RawItem], progress: Progress = no_progress) -> None:
        batch: list[RawItem] = []
        batch_bytes = 0
        for item in progress(items):
            batch.append(item)
            batch_bytes += len(item.data)
            if len(batch) >= self.archive.settings.batch_size or batch_bytes >= BATCH_BYTES:
                self.add_batch(batch)
                batch, batch_bytes = [], 0
        if batch:
            self.add_batch(batch)

    def add_batch(self, items: Sequence[RawItem]) -> list[int]:
        """Store, save and queue for indexing one batch; return its messages' ids (in order).
        When this returns, the batch is committed to the database."""
        written = self.archive.raw.put_many([item.data for item in items])
        stored = [(item, sha) for item, (sha, _) in zip(items, written, strict=True)]
        self.report.seen += len(stored)
        documents, ids = _import_batch(self.archive, stored, self.account, self.directory, self.report)
        self._indexer.add(documents, new=True)
        return ids

    def __exit__(self, exc_type, exc, tb) -> None:
        self._indexer.__exit__(exc_type, exc, tb)
        if exc_type is None:
            index_pending(self.archive)  # earlier replies whose links this run changed
        self.report.seconds = time.monotonic() - self._started


def _import_batch(
    archive: Archive,
    batch: list[tuple[RawItem, str]],
    account: str,
    directory: Directory,
    report: ImportReport,
) -> tuple[list[tuple[int, Document]], list[int]]:
    """Save one batch in one transaction; return the index documents of the new messages
    and the ids of every message in the batch."""
    now = _utcnow()
    outcomes: list[_Outcome] = []
    ids: list[int] = []
    with archive.sessions.begin() as session:
        shas = list({sha for _, sha in batch})
        known = {m.sha256: m for m in session.scalars(select(Message).where(Message.sha256.in_(shas)))}
        placed: list[tuple[RawItem, Message]] = []
        for item, sha in batch:
            message = known.get(sha)
            if message is not None:
                report.duplicates += 1
            else:
                message, parsed = _store_message(session, item, sha, now, report)
                known[sha] = message
                if parsed is not None:
                    outcomes.append(_Outcome(message, parsed))
            placed.append((item, message))
        _mark_variants(session, [o.message for o in outcomes])
        session.flush()  # one flush gives every new message its id
        _save_participants(session, outcomes)
        for outcome in outcomes:
            if link_message(session, outcome.message, outcome.parsed.participants, directory, is_new=True):
                report.linked += 1
        for item, message in placed:
            _add_copy(session, message, account, item, now)
            ids.append(message.id)
        session.flush()
        # A reply stored before the message it answers inherits that message's links now.
        replies = relink_replies(session, directory, [o.message for o in outcomes])
        new = {o.message.id for o in outcomes}
        _set_indexed_at(session, sorted(replies - new), None)  # re-indexed at the end of the run
        return _documents(session, outcomes), ids


def _store_message(
    session: Session, item: RawItem, sha: str, now: datetime, report: ImportReport
) -> tuple[Message, ParsedMessage | None]:
    try:
        parsed = parse_message(item.data)
    except ParseError as exc:
        return _failed(session, item, sha, now, report, str(exc)), None
    except Exception as exc:  # a parser bug must not lose the message: keep it as failed
        log.exception("parser crashed on %s", item.origin)
        return _failed(session, item, sha, now, report, f"parser error: {type(exc).__name__}: {exc}"), None
    sender = parsed.sender
    if (parsed.date is None or parsed.date_source == "import") and item.internaldate is not None:
        parsed = dataclasses.replace(parsed, date=item.internaldate, date_offset=0, date_source="server")
    message = Message(
        sha256=sha,
        size=len(item.data),
        status="ok",
        header_message_id=(parsed.message_id or None) and parsed.message_id[:998],
        subject=parsed.subject,
        from_name=sender.name if sender else "",
        from_email=sender.email if sender else "",
        date=parsed.date.replace(tzinfo=None) if parsed.date else now,
        date_offset=parsed.date_offset,
        date_source=parsed.date_source or "import",
        in_reply_to=parsed.in_reply_to and parsed.in_reply_to[:998],
        references=list(parsed.references),
        is_html_only=parsed.is_html_only,
        defects=list(parsed.defects),
        is_bulk=parsed.is_bulk,
        stored_at=now,
    )
    message.copies = []  # new: known empty, so adding a copy needs no lookup
    message.attachments = [
        AttachmentRow(filename=a.filename, content_type=a.content_type, size=a.size)
        for a in parsed.attachments
    ]
    session.add(message)
    report.stored += 1
    return message, parsed


def _save_participants(session: Session, outcomes: Sequence[_Outcome]) -> None:
    """Insert the new messages' participant rows in one statement (once they have ids): as
    ORM objects they were a tenth of an import's time, and nothing in the batch reads them back."""
    rows = [
        {"message_id": o.message.id, "role": p.role, "name": p.address.name,
         "email": p.address.email, "domain": p.address.domain}
        for o in outcomes
        for p in o.parsed.participants
    ]
    if rows:
        session.execute(insert(ParticipantRow), rows)


def _mark_variants(session: Session, new: Sequence[Message]) -> None:
    """Mark messages that share a Message-ID header but differ in bytes (stored before, or in
    this batch) as variants, with one query per batch."""
    by_header: dict[str, list[Message]] = {}
    for message in new:
        if message.header_message_id:
            by_header.setdefault(message.header_message_id, []).append(message)
    if not by_header:
        return
    headers = list(by_header)
    with session.no_autoflush:
        for start in range(0, len(headers), 500):
            for other in session.scalars(
                select(Message).where(Message.header_message_id.in_(headers[start:start + 500]))
            ):
                by_header[other.header_message_id].append(other)
    for group in by_header.values():
        if len({m.sha256 for m in group}) > 1:
            for message in group:
                message.is_variant = True


def _failed(session: Session, item: RawItem, sha: str, now: datetime, report: ImportReport, reason: str) -> Message:
    message = Message(
        sha256=sha, size=len(item.data), status="failed", error=reason,
        date=now, date_source="import", stored_at=now, references=[], defects=[], copies=[],
    )
    session.add(message)
    report.failed += 1
    report.failures.append((item.origin, reason))
    log.warning("stored %s as failed: %s", item.origin, reason)
    return message


def _add_copy(session: Session, message: Message, account: str, item: RawItem, now: datetime) -> None:
    copy = next((c for c in message.copies if c.account == account and c.folder == item.folder), None)
    if copy is None and message.stored_at != now:  # stored by an earlier run: look in the database
        copy = session.scalar(
            select(MessageCopy).where(
                MessageCopy.message_id == message.id,
                MessageCopy.account == account,
                MessageCopy.folder == item.folder,
            )
        )
    if copy is None:
        copy = MessageCopy(account=account, folder=item.folder, origin=item.origin, found_at=now)
        message.copies.append(copy)
    if item.uid is not None:  # IMAP: the copy follows the server's current UID and flags
        copy.uid = item.uid
        copy.origin = item.origin
        copy.flags = list(item.flags)
        copy.internaldate = item.internaldate.replace(tzinfo=None) if item.internaldate else None
        copy.labels = list(item.labels) or None


def _documents(session: Session, outcomes: list[_Outcome]) -> list[tuple[int, Document]]:
    ids = [o.message.id for o in outcomes]
    customers = customers_by_message(session, ids)
    return [
        (o.message.id, _document(o.message, o.parsed, customers.get(o.message.id, ())))
        for o in outcomes
    ]


def _document(message: Message, parsed: ParsedMessage, customers: Iterable[int]) -> Document:
    """The index document of a stored message (import, pending and reindex all come here);
    reads its attachments' text and records on each attachment row how that went."""
    texts = extract_attachments(parsed.attachments)
    rows = message.attachments
    if len(rows) == len(texts):  # rows are saved in the parser's order
        for row, text in zip(rows, texts, strict=True):
            if row.text_status != text.status:
                row.text_status = text.status
    return build_document(
        message.sha256,
        parsed,
        date=message.date,
        customers=customers,
        folders=[c.folder for c in message.copies],
        accounts=[c.account for c in message.copies],
        attachment_texts=[(t.filename, t.text) for t in texts if t.text],
    )


def _set_indexed_at(session: Session, ids: Sequence[int], value: datetime | None) -> None:
    """Mark messages indexed at ``value`` (None: waiting to be indexed), in bounded IN lists."""
    for start in range(0, len(ids), 500):
        session.execute(update(Message).where(Message.id.in_(ids[start:start + 500])).values(indexed_at=value))


#: Documents written between index commits in a long run; each commit makes them searchable.
INDEX_COMMIT_EVERY = 5000


class _Indexer:
    """One index writer for a whole run, committed every INDEX_COMMIT_EVERY documents and at
    the end; after each commit the messages are marked indexed. On an error the uncommitted
    documents are dropped and their messages stay unindexed for :func:`index_pending`."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.writer = None
        self.pending: list[int] = []

    def __enter__(self) -> _Indexer:
        return self

    def add(self, documents: list[tuple[int, Document]], *, new: bool = False) -> None:
        if not documents:
            return
        if self.writer is None:
            self.writer = self.archive.index.open_writer()
        for message_id, doc in documents:
            # A message stored in this run cannot be in the index yet: skip the delete lookup.
            (self.writer.add_new if new else self.writer.put)(doc)
            self.pending.append(message_id)
        if len(self.pending) >= INDEX_COMMIT_EVERY:
            self.commit(merge=False)

    def commit(self, *, merge: bool = True) -> None:
        if self.writer is None:
            return
        self.writer.commit(merge=merge)
        self.writer = None
        ids, self.pending = self.pending, []
        with self.archive.sessions.begin() as session:
            _set_indexed_at(session, ids, _utcnow())

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        elif self.writer is not None:
            self.writer.cancel()
            self.writer = None


#: Whether imports index in a child process (config.workers), in parallel with parsing and saving.
USE_INDEX_PROCESS = True
#: Documents between the child's commits (measured on 2,000 messages: 5,000 left a 10 s final
#: flush that nothing overlapped, 1,000 a 6 s one, 82 -> 90 msg/s).
INDEX_PROCESS_COMMIT_EVERY = 1000


class _ChildIndexer:
    """The importer's indexer: like :class:`_Indexer`, but the index writer runs in a child
    process (:class:`config.workers.IndexProcess`), started with the first documents. Each
    commit the child reports marks its messages indexed, in this process's database session."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.process: IndexProcess | None = None

    def __enter__(self) -> _ChildIndexer:
        return self

    def add(self, documents: list[tuple[int, Document]], *, new: bool = False) -> None:
        if not documents:
            return
        if not new:  # only fresh messages may skip the delete lookup the child does not do
            raise ValueError("the child indexer only adds new documents")
        if self.process is None:
            from .workers import IndexProcess  # Whoosh: only once there is something to index

            self.process = IndexProcess(
                self.archive.index, self._mark_indexed, commit_every=INDEX_PROCESS_COMMIT_EVERY
            )
        self.process.add(documents)

    def _mark_indexed(self, ids: list[int]) -> None:
        with self.archive.sessions.begin() as session:
            _set_indexed_at(session, ids, _utcnow())

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        if exc_type is None:
            try:
                process.finish()
            except BaseException:
                process.cancel()
                raise
        else:
            process.cancel()


def _documents_for(archive: Archive, session: Session, messages: Sequence[Message]) -> list[tuple[int, Document]]:
    customers = customers_by_message(session, [m.id for m in messages])
    docs = []
    # The attachments' text status is written when the caller commits, not at the next lazy
    # load: a write transaction held across parsing and extraction would block imports.
    with session.no_autoflush:
        for message in messages:
            try:
                parsed = parse_message(archive.raw.get(message.sha256))
            except (ParseError, RawStoreError) as exc:  # one lost blob must not stop a reindex
                log.warning("message %s cannot be indexed: %s", message.short_id, exc)
                continue
            docs.append((message.id, _document(message, parsed, customers.get(message.id, ()))))
    return docs


def index_pending(archive: Archive) -> int:
    """Index the stored messages that are not indexed yet (after a crash, a relink or a reindex
    that raced an import); return how many were indexed."""
    done, last_id = 0, 0
    with _Indexer(archive) as indexer:
        while True:
            with archive.sessions.begin() as session:  # commits the attachments' text status
                messages = session.scalars(
                    select(Message)
                    .where(Message.status == "ok", Message.indexed_at.is_(None), Message.id > last_id)
                    .order_by(Message.id)
                    .limit(archive.settings.batch_size)
                ).all()
                if not messages:
                    return done
                last_id = messages[-1].id
                docs = _documents_for(archive, session, messages)
            indexer.add(docs)
            indexed = {mid for mid, _ in docs}
            skipped = [m.id for m in messages if m.id not in indexed]
            if skipped:  # no longer parses: mark it so it is not retried on every run
                with archive.sessions.begin() as session:
                    _set_indexed_at(session, skipped, _utcnow())
            done += len(docs)


def reindex(archive: Archive, progress: Progress = no_progress) -> int:
    """Rebuild the whole search index from the raw store and database; return documents indexed.

    The new index is built beside the live one and swapped in when complete.
    """
    started = _utcnow()

    def documents() -> Iterator[tuple[int, Document]]:
        with archive.sessions() as session:
            ids = session.scalars(select(Message.id).where(Message.status == "ok").order_by(Message.id)).all()
            for start in range(0, len(ids), 500):
                chunk = session.scalars(select(Message).where(Message.id.in_(ids[start:start + 500]))).all()
                yield from _documents_for(archive, session, chunk)
                session.commit()  # the attachments' text status
                session.expunge_all()

    if USE_INDEX_PROCESS:
        count = _rebuild_in_child(archive, progress(documents()))
    else:
        count = archive.index.rebuild(doc for _, doc in progress(documents()))
    with archive.sessions.begin() as session:
        session.execute(
            update(Message).where(Message.status == "ok", Message.stored_at <= started).values(indexed_at=started)
        )
        # Stored while the rebuild ran: an import may have indexed them into the index just replaced.
        session.execute(update(Message).where(Message.stored_at > started).values(indexed_at=None))
    index_pending(archive)
    return count


#: Documents sent to the rebuild's index writer at a time (at most MAX_QUEUED_BATCHES queued).
REINDEX_BATCH = 100


def _rebuild_in_child(archive: Archive, documents: Iterable[tuple[int, Document]]) -> int:
    """:meth:`SearchIndex.rebuild` with the writer in a child process, as imports index: this
    process reads, parses and builds the documents while the child writes the previous ones.
    One commit at the end, so the new index is one segment; on any error the live index stays."""
    from .workers import IndexProcess

    fresh = archive.index.begin_rebuild()
    process = IndexProcess(fresh, lambda ids: None, commit_every=sys.maxsize)
    count = 0
    batch: list[tuple[int, Document]] = []
    try:
        for pair in documents:
            batch.append(pair)
            if len(batch) >= REINDEX_BATCH:
                process.add(batch)
                count, batch = count + len(batch), []
        process.add(batch)
        count += len(batch)
        process.finish()
    except BaseException:
        process.cancel()
        raise
    archive.index.swap_in(fresh)
    log.info("rebuilt index at %s with %d documents", archive.index.path, count)
    return count


def relink_all(archive: Archive, message_ids: Iterable[int] | None = None) -> int:
    """Recompute links (all messages, or those given) and re-index the messages whose customers changed."""
    with archive.sessions.begin() as session:
        report = relink(session, archive.directory(session), message_ids)
        changed = sorted(report.changed)
        _set_indexed_at(session, changed, None)
    index_pending(archive)
    return len(changed)
