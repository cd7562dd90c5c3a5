"""Reading new messages in worker processes: all that is a pure function of a message's raw bytes.

A worker encodes the raw store's blob (gzip, sealed when a key is set), parses the message, reads
it (new and quoted text, attachment text, quotes, amounts) and, when the index's engine takes
them, produces the index tokens of its text. The importing process keeps what needs the archive:
the raw files' placement, the database transaction, linking and the index writer. Batches are
read a few ahead of the one being saved, in order; a worker that dies takes nobody's message with
it: its messages are read again one at a time, and the one it dies on again is kept as failed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime

from index import Document
from ingest import Encoder, ParsedMessage, ParseError, Reading

log = logging.getLogger(__name__)

#: Messages per task sent to a worker: enough to make the round trip cheap, few enough that the
#: workers of a batch share its work evenly.
CHUNK = 25
#: A run whose first batch brings fewer new messages than this reads them in-process: starting
#: the workers (a fresh interpreter each, importing the parser) costs more than they would save.
MIN_FOR_WORKERS = 64
#: Workers at most when the count is automatic: past a few, the importing process is the limit.
MAX_AUTO_WORKERS = 4
#: A message larger than this is encoded for the raw store when it is written, not ahead: its
#: blob would be held (and, from a worker, copied) beside the message while the batch is read.
ENCODE_AHEAD_MAX = 16 * 1024 * 1024
_SOME_DATE = datetime(2000, 1, 1)  # a draft's date: complete_document sets the one stored


@dataclass(frozen=True)
class Read:
    """A new message as read before its batch's transaction: parsed (without its texts and
    attachments' bytes once they are read) and read, or why it failed; with its raw store blob
    when a worker encoded it, and the draft of its index document."""

    parsed: ParsedMessage | None
    reading: Reading | None = None
    error: str = ""
    blob: bytes | None = None  # encoded for the raw store (RawStore.put_many's ``encoded``)
    #: Its index document as far as its bytes tell (index.complete_document adds the rest), with
    #: its texts' tokens when the engine takes them.
    draft: Document | None = None


#: What a worker is given per message: its SHA-256, raw bytes and origin (for the log).
Task = tuple[str, bytes, str]


def read_raw(raw: bytes, parser: str = "mail-parser") -> tuple[ParsedMessage, Reading]:
    """Parse a message (the tree built by ``parser``) and read it once: its text, its
    attachments' text, its quotes. Raises ParseError."""
    # The parser and the attachment readers load mail-parser, BeautifulSoup and the charset
    # detector (about 0.4 s): imported with the first message, not by every command.
    from ingest import extract_attachments, parse_message, read_message

    parsed = parse_message(raw, parser=parser)
    return parsed, read_message(parsed, extract_attachments(parsed.attachments))


def read_item(raw: bytes, origin: str, parser: str = "mail-parser") -> Read:
    """:func:`read_raw` of one message, its failure kept as the reason (never raised)."""
    try:
        return Read(*read_raw(raw, parser))
    except ParseError as exc:
        return Read(None, error=str(exc))
    except Exception as exc:  # a parser bug must not lose the message: keep it as failed
        log.warning("parser crashed on %s: %s: %s", origin, type(exc).__name__, exc)
        log.debug("the parser's traceback for %s", origin, exc_info=True)
        return Read(None, error=f"parser error: {type(exc).__name__}: {exc}")


def read_tasks(tasks: Sequence[Task], encoder: Encoder | None, analyse: bool,
               parser: str = "mail-parser") -> list[Read]:
    """Everything of ``tasks`` that depends on their bytes alone (what a worker runs)."""
    from index import analyse_document, build_document

    out = []
    for sha, raw, origin in tasks:
        blob = encoder.encode(sha, raw) if encoder is not None and len(raw) <= ENCODE_AHEAD_MAX else None
        read = read_item(raw, origin, parser)
        if read.parsed is None:
            out.append(replace(read, blob=blob))
            continue
        draft = build_document(sha, read.parsed, read.reading, date=_SOME_DATE)
        if analyse:
            draft = replace(draft, analysed=analyse_document(draft))
        out.append(replace(read, parsed=_lean(read.parsed), blob=blob, draft=draft))
    return out


def _lean(parsed: ParsedMessage) -> ParsedMessage:
    # What was read out of them is in the reading and the draft: the rows and the linker need
    # neither the texts nor the attachments' bytes, which would only be copied between processes.
    return replace(parsed, text="", html_text="", attachments=tuple(replace(a, data=b"") for a in parsed.attachments))


def auto_workers() -> int:
    """The worker count when the config sets none: one per CPU when there are several."""
    cpus = os.cpu_count() or 1
    return 0 if cpus < 2 else min(cpus, MAX_AUTO_WORKERS)


def _start_worker(parent: int) -> None:
    # Ctrl-C reaches the whole process group: the importing process decides what stops (it
    # finishes the batch in flight), so a worker must not die of it mid-message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="watch-parent").start()


def _watch_parent(parent: int) -> None:
    # A killed importer (SIGKILL) cannot stop its workers; they notice and leave instead of
    # waiting forever on a queue nobody feeds.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


class Batch:
    """One batch being read: its messages' results, by SHA-256, once :meth:`Readers.result` has them."""

    def __init__(self, tasks: list[Task], futures: list[tuple[list[Task], Future | None]]) -> None:
        self.tasks = tasks
        self.futures = futures


ReadTasks = Callable[[Sequence[Task], Encoder | None, bool, str], list[Read]]


class Readers:
    """Reads batches of new messages in ``workers`` processes (0: in this one), in order.

    ``encoder``: encode each message's raw store blob too; ``analyse``: produce its index tokens;
    ``parser``: who builds the message trees (:data:`ingest.PARSERS`). ``read`` is what runs per
    task (a module-level function, as workers import it by name).
    """

    def __init__(self, workers: int, *, encoder: Encoder | None = None, analyse: bool = False,
                 parser: str = "mail-parser", read: ReadTasks = read_tasks) -> None:
        self.workers = workers
        self.encoder = encoder
        self.analyse = analyse
        self.parser = parser
        self._read = read
        self._pool: ProcessPoolExecutor | None = None
        self._in_process = workers <= 0

    def submit(self, tasks: list[Task]) -> Batch:
        """Start reading ``tasks`` (in the workers, or later in this process)."""
        if not self._in_process and self._pool is None and len(tasks) < MIN_FOR_WORKERS:
            self._in_process = True  # a small run: not worth starting workers
        if self._in_process or not tasks:
            return Batch(tasks, [(tasks, None)])
        pool = self._open()
        chunks = [tasks[i:i + CHUNK] for i in range(0, len(tasks), CHUNK)]
        return Batch(tasks, [(chunk, self._submit(pool, chunk)) for chunk in chunks])

    def _submit(self, pool: ProcessPoolExecutor, chunk: list[Task]) -> Future | None:
        try:
            return pool.submit(self._read, chunk, self.encoder, self.analyse, self.parser)
        except BrokenProcessPool:
            return None  # read one by one in result()

    def result(self, batch: Batch) -> dict[str, Read]:
        """The messages of ``batch`` read, by SHA-256 (waits for the workers)."""
        out: dict[str, Read] = {}
        for chunk, future in batch.futures:
            reads = self._gather(chunk, future)
            out.update((sha, read) for (sha, _, _), read in zip(chunk, reads, strict=True))
        return out

    def _gather(self, chunk: list[Task], future: Future | None) -> list[Read]:
        if future is None and (self._in_process or not chunk):
            # In this process nothing is gained by encoding ahead: the raw store does it as it writes.
            return self._read(chunk, None, self.analyse, self.parser)
        try:
            if future is None:
                raise BrokenProcessPool("the pool broke before the chunk was sent")
            return future.result()
        except CancelledError:
            # Dropped when the workers were restarted for another chunk's crash: it never ran, so
            # it is sent again whole.
            return self._gather(chunk, self._submit(self._open(), chunk))
        except BrokenProcessPool:
            # A worker died (killed, out of memory, a crash in C code): which message did it is
            # unknown, so each is read again alone; the one that kills a worker again is failed.
            log.warning("a reading process died; reading its %d messages again one by one", len(chunk))
            self._reset()
            return [self._alone(task) for task in chunk]

    def _alone(self, task: Task) -> Read:
        try:
            return self._open().submit(self._read, [task], self.encoder, self.analyse, self.parser).result()[0]
        except BrokenProcessPool:
            self._reset()
            sha, _, origin = task
            log.warning("the reading process died on %s", origin)
            return Read(None, error="the process reading it died (a crash in the parser or an attachment reader, "
                                    "or it ran out of memory)")

    def _open(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # A fresh interpreter per worker ("spawn"): forking the importer would copy its
            # database connections, index writer threads and locks into every worker.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker, initargs=(os.getpid(),))
        return self._pool

    def _reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (what they were reading is dropped)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Readers:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()
