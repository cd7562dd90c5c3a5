"""IMAP sync: one pass over configured accounts, through the same pipeline as ``dossier import``.

Per folder: EXAMINE it, compare UIDVALIDITY / UIDNEXT / HIGHESTMODSEQ with the stored cursor
(unchanged folders cost one command), list the UIDs above the cursor in windows, skip those
already stored, fetch the rest in batches bounded by count and bytes, hand each batch to the
:class:`~config.pipeline.Importer` (raw store -> parse -> link -> index, committed), then move
the cursor. The cursor never passes a UID that is not stored, so a pass that dies anywhere
resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update

from ingest import FolderState, Message, MessageCopy, RawItem, utcnow
from ingest.imap import (
    FolderInfo,
    ImapAccount,
    ImapConnection,
    ImapError,
    advance_cursor,
    choose_folders,
    plan_batches,
)

from .archive import Archive
from .pipeline import Importer, index_pending
from .settings import AccountSettings, ConfigError

log = logging.getLogger(__name__)

#: A folder whose UIDVALIDITY changed this many times is reported as unstable.
UNSTABLE_UIDVALIDITY = 3


# ---------------------------------------------------------------------------- credentials


def resolve_password(account: AccountSettings) -> str:
    """The account's password from its environment variable or command. The value is never
    logged or put in an error message."""
    if account.password_env:
        value = os.environ.get(account.password_env, "")
        if not value:
            raise ConfigError(
                f"account {account.name!r}: the environment variable {account.password_env} is not set; "
                "export it with the account's password (or set password_command)"
            )
        return value
    if account.password_command:
        try:
            done = subprocess.run(account.password_command, shell=True, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"account {account.name!r}: password_command did not finish in 60 s") from None
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ConfigError(
                f"account {account.name!r}: password_command failed (exit {done.returncode}"
                + (f": {reason[0][:200]}" if reason else "") + ")"
            )
        value = done.stdout.decode("utf-8", "replace").rstrip("\r\n")
        if not value:
            raise ConfigError(f"account {account.name!r}: password_command printed nothing")
        return value
    return account.password


def imap_account(account: AccountSettings) -> ImapAccount:
    return ImapAccount(
        name=account.name,
        host=account.host,
        port=account.port,
        username=account.username,
        password=lambda: resolve_password(account),
        security=account.security,
        ca_file=account.ca_file or None,
        folders=account.folders,
        exclude=account.exclude_folders,
        timeout=account.timeout,
    )


# ---------------------------------------------------------------------------- reports, progress


@dataclass
class FolderReport:
    account: str
    folder: str
    listed: int = 0
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    remapped: int = 0
    gaps: list[int] = field(default_factory=list)
    unchanged: bool = False
    uidvalidity_changed: bool = False
    error: str | None = None


@dataclass
class SyncReport:
    folders: list[FolderReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def fetched(self) -> int:
        return sum(f.fetched for f in self.folders)

    @property
    def stored(self) -> int:
        return sum(f.stored for f in self.folders)

    def summary(self) -> dict:
        return {
            "folders": len(self.folders),
            "unchanged": sum(f.unchanged for f in self.folders),
            "fetched": self.fetched,
            "stored": self.stored,
            "duplicates": sum(f.duplicates for f in self.folders),
            "remapped": sum(f.remapped for f in self.folders),
            "gaps": sum(len(f.gaps) for f in self.folders),
            "errors": len(self.errors),
            "seconds": round(self.seconds, 3),
        }


class SyncProgress:
    """What a sync tells its watcher; the CLI shows a bar, the daemon logs. Does nothing here."""

    def folder(self, account: str, folder: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def done(self) -> None:
        pass


class LogProgress(SyncProgress):
    """Logs each folder's progress (done/total, rate) at most every ``every`` seconds."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every

    def folder(self, account: str, folder: str, total: int) -> None:
        self.name, self.total, self.count = f"{account}/{folder}", total, 0
        self.started = self.last = time.monotonic()
        if total:
            log.info("sync %s: %d messages to fetch", self.name, total)

    def advance(self, count: int) -> None:
        self.count += count
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = self.count / max(now - self.started, 1e-6)
            log.info("sync %s: %d/%d messages, %.0f msg/s", self.name, self.count, self.total, rate)


# ---------------------------------------------------------------------------- the pass


def sync(
    archive: Archive,
    accounts: Sequence[AccountSettings],
    *,
    folders: Sequence[str] = (),
    progress: SyncProgress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    retries: int = 3,
    backoff: float = 2.0,
) -> SyncReport:
    """One pass over ``accounts`` (only the folders matching ``folders`` globs, if given).

    A failure in one account is recorded and the others still run. Connection drops are
    retried ``retries`` times with exponential backoff, resuming at the folder and UID where
    the pass stopped; everything fetched before a failure stays committed.
    """
    report = SyncReport()
    started = time.monotonic()
    progress = progress or SyncProgress()
    # A pass killed after its last commit left messages stored but not indexed; a pass with
    # nothing new would otherwise never open the importer that indexes them.
    index_pending(archive)
    for account in accounts:
        where: dict[str, str] = {}
        importer = _LazyImporter(archive, account.name)
        try:
            _sync_account(archive, importer, account, folders, progress, should_stop, retries, backoff, report, where)
        except (ImapError, ConfigError) as exc:
            report.errors.append(str(exc))
            _record_error(archive, account.name, where.get("folder", ""), where.get("name", ""), str(exc))
            log.error("sync %s failed: %s", account.name, exc)
        finally:
            importer.close()
        if should_stop():
            break
    report.seconds = time.monotonic() - started
    log.info("sync: %s", report.summary())
    return report


class _LazyImporter:
    """The import pipeline, opened only when a folder has something to fetch: a pass over
    unchanged folders never loads the customer directory or the index writer."""

    def __init__(self, archive: Archive, account: str) -> None:
        self.archive, self.account = archive, account
        self._importer: Importer | None = None

    def add_batch(self, items: list[RawItem]) -> tuple[int, int]:
        """Store one batch; return how many were new and how many already archived."""
        if self._importer is None:
            self._importer = Importer(self.archive, self.account).__enter__()
        report = self._importer.report
        before = (report.stored, report.duplicates)
        self._importer.add_batch(items)
        return report.stored - before[0], report.duplicates - before[1]

    def close(self) -> None:
        if self._importer is not None:
            exc = sys.exc_info()
            self._importer.__exit__(*exc)
            self._importer = None


def _sync_account(archive, importer, account, only, progress, should_stop, retries, backoff, report, where) -> None:
    done: set[str] = set()
    attempt = 0
    while True:
        try:
            with ImapConnection(imap_account(account)) as connection:
                chosen = choose_folders(connection.list_folders(), account.folders, account.exclude_folders)
                if only:
                    chosen = choose_folders(chosen, only) or _missing(account, only)
                _record_error(archive, account.name, "", "", None)  # logged in: clear an account-level error
                for folder in chosen:
                    if folder.raw in done or should_stop():
                        continue
                    where.update(folder=folder.raw, name=folder.name)
                    folder_report = _sync_folder(archive, importer, connection, account.name, folder, progress,
                                                 should_stop)
                    report.folders.append(folder_report)
                    if not should_stop():
                        done.add(folder.raw)
                return
        except ImapError as exc:
            if not exc.retryable or attempt >= retries or should_stop():
                raise
            attempt += 1
            delay = backoff * 2 ** (attempt - 1)
            log.warning("%s; retrying in %.0f s (attempt %d of %d)", exc, delay, attempt, retries)
            time.sleep(delay)


def _missing(account: AccountSettings, only: Sequence[str]):
    raise ImapError(
        f"account {account.name!r}: no folder matches {', '.join(only)}; `dossier accounts test {account.name}` "
        "lists the folders"
    )


def _sync_folder(
    archive: Archive,
    importer: _LazyImporter,
    connection: ImapConnection,
    account: str,
    folder: FolderInfo,
    progress: SyncProgress,
    should_stop: Callable[[], bool],
) -> FolderReport:
    report = FolderReport(account=account, folder=folder.name)
    status = connection.select(folder)
    with archive.sessions.begin() as session:
        state = session.scalar(select(FolderState).where(FolderState.account == account,
                                                         FolderState.folder == folder.raw))
        if state is None:
            state = FolderState(account=account, folder=folder.raw, name=folder.name, last_uid=0, gaps=[],
                                uidvalidity_changes=0)
            session.add(state)
        state.last_attempt_at = utcnow()
        remap = state.uidvalidity is not None and state.uidvalidity != status.uidvalidity
        if remap:
            state.uidvalidity_changes = (state.uidvalidity_changes or 0) + 1
            log.warning("%s/%s: UIDVALIDITY changed (%s -> %s); re-scanning the folder", account, folder.name,
                        state.uidvalidity, status.uidvalidity)
            if state.uidvalidity_changes >= UNSTABLE_UIDVALIDITY:
                log.warning("%s/%s: UIDVALIDITY has changed %d times; the server may be rebuilding this folder "
                            "repeatedly, which costs a full re-scan each time", account, folder.name,
                            state.uidvalidity_changes)
            state.last_uid, state.gaps, state.uidnext, state.highestmodseq = 0, [], None, None
            # The old UIDs mean nothing now; copies get their new UID when re-mapped or fetched.
            session.execute(update(MessageCopy).where(MessageCopy.account == account,
                                                      MessageCopy.folder == folder.name).values(uid=None))
            report.uidvalidity_changed = True
        unchanged = (
            not remap
            and state.uidvalidity == status.uidvalidity
            and status.uidnext is not None
            and state.uidnext == status.uidnext
            and not state.gaps
        )
        flags_changed = (
            unchanged and status.highestmodseq is not None and state.highestmodseq is not None
            and status.highestmodseq != state.highestmodseq
        )
        state.uidvalidity = status.uidvalidity
        state.name = folder.name
        last_uid = state.last_uid
        if unchanged and not flags_changed:
            state.last_success_at, state.last_error = utcnow(), None
            state.exists = status.exists
            report.unchanged = True
            return report
    if flags_changed:
        _refresh_flags(archive, connection, account, folder, state_modseq=_modseq(archive, account, folder))
        _finish(archive, account, folder, status, last_uid, [], complete=True)
        report.unchanged = True
        return report

    listed = connection.uids_after(last_uid, status.uidnext)
    report.listed = len(listed)
    stored: set[int] = set(_stored_uids(archive, account, folder.name, listed))
    todo = [uid for uid in listed if uid not in stored]
    if remap and todo:
        remapped = _remap(archive, connection, account, folder.name, todo)
        report.remapped = len(remapped)
        stored.update(remapped)
        todo = [uid for uid in todo if uid not in remapped]
    sizes = connection.sizes(todo) if todo else {}
    progress.folder(account, folder.name, len(todo))
    stopped = False
    for batch in plan_batches(sizes):
        if should_stop():
            stopped = True
            break
        items = [
            RawItem(
                data=fetched.data,
                folder=folder.name,
                origin=f"imap://{account}/{folder.name};UID={fetched.uid}",
                uid=fetched.uid,
                flags=fetched.flags,
                internaldate=fetched.internaldate,
                labels=fetched.labels,
            )
            for fetched in connection.fetch(batch)
        ]
        if items:
            new, known = importer.add_batch(items)
            report.stored += new
            report.duplicates += known
        report.fetched += len(items)
        stored.update(item.uid for item in items)
        progress.advance(len(batch))
        # Committed: move the cursor over what is stored (never past a UID that is not).
        cursor, _ = advance_cursor(last_uid, [u for u in listed if u <= batch[-1]], stored)
        _save_cursor(archive, account, folder, cursor)
    progress.done()
    cursor, gaps = advance_cursor(last_uid, listed, stored)
    if stopped:
        gaps = []
    report.gaps = gaps
    if gaps:
        log.warning("%s/%s: %d messages listed by the server were not returned (UIDs %s); they will be retried",
                    account, folder.name, len(gaps), ", ".join(map(str, gaps[:10])))
    _finish(archive, account, folder, status, cursor, gaps, complete=not stopped and not gaps)
    return report


def _stored_uids(archive: Archive, account: str, folder: str, uids: Sequence[int]) -> list[int]:
    """Of ``uids``, those already stored as copies of this folder (after a crash the cursor
    may lag behind what was committed)."""
    found: list[int] = []
    with archive.sessions() as session:
        for start in range(0, len(uids), 500):
            chunk = uids[start:start + 500]
            found.extend(session.scalars(select(MessageCopy.uid).where(
                MessageCopy.account == account, MessageCopy.folder == folder, MessageCopy.uid.in_(chunk))))
    return found


def _remap(archive: Archive, connection: ImapConnection, account: str, folder: str, uids: Sequence[int]) -> set[int]:
    """After a UIDVALIDITY change: give the copies already stored their new UIDs, matched by
    Message-ID and size, so they are not fetched again."""
    remapped: set[int] = set()
    headers = connection.message_ids(uids)
    with archive.sessions.begin() as session:
        copies = session.execute(
            select(MessageCopy, Message.header_message_id, Message.size)
            .join(Message, Message.id == MessageCopy.message_id)
            .where(MessageCopy.account == account, MessageCopy.folder == folder, MessageCopy.uid.is_(None))
        ).all()
        by_key: dict[tuple[str, int], list[MessageCopy]] = {}
        for copy, message_id, size in copies:
            if message_id:
                by_key.setdefault((message_id, size), []).append(copy)
        for uid, (message_id, size) in sorted(headers.items()):
            key = (message_id.strip().strip("<>").strip(), size)
            candidates = by_key.get(key)
            if key[0] and candidates:
                candidates.pop().uid = uid
                remapped.add(uid)
    return remapped


def _refresh_flags(archive: Archive, connection: ImapConnection, account: str, folder: FolderInfo,
                   state_modseq: int | None) -> None:
    if state_modseq is None:
        return
    changed = connection.changed_flags(state_modseq)
    with archive.sessions.begin() as session:
        for uid, flags in changed.items():
            session.execute(update(MessageCopy).where(
                MessageCopy.account == account, MessageCopy.folder == folder.name, MessageCopy.uid == uid
            ).values(flags=list(flags)))


def _modseq(archive: Archive, account: str, folder: FolderInfo) -> int | None:
    with archive.sessions() as session:
        return session.scalar(select(FolderState.highestmodseq).where(
            FolderState.account == account, FolderState.folder == folder.raw))


def _save_cursor(archive: Archive, account: str, folder: FolderInfo, cursor: int) -> None:
    with archive.sessions.begin() as session:
        session.execute(update(FolderState).where(
            FolderState.account == account, FolderState.folder == folder.raw).values(last_uid=cursor))


def _finish(archive, account: str, folder: FolderInfo, status, cursor: int, gaps: list[int], *, complete: bool) -> None:
    with archive.sessions.begin() as session:
        state = session.scalar(select(FolderState).where(FolderState.account == account,
                                                         FolderState.folder == folder.raw))
        state.last_uid = cursor
        state.gaps = gaps
        state.exists = status.exists
        if complete:
            # Only a complete pass may let the next one skip the folder on unchanged UIDNEXT/MODSEQ.
            state.uidnext = status.uidnext
            state.highestmodseq = status.highestmodseq
            state.last_success_at = utcnow()
            state.last_error = None


def _record_error(archive: Archive, account: str, folder: str, name: str, error: str | None) -> None:
    """Record (or, with ``error=None``, clear) the error of a folder, or of the account as a
    whole (``folder=""``: login or listing failed)."""
    with archive.sessions.begin() as session:
        state = session.scalar(select(FolderState).where(FolderState.account == account,
                                                         FolderState.folder == folder))
        if state is None:
            if error is None:
                return
            state = FolderState(account=account, folder=folder, name=name, last_uid=0, gaps=[],
                                uidvalidity_changes=0)
            session.add(state)
        state.last_attempt_at = utcnow()
        state.last_error = error
