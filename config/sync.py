"""IMAP sync: one pass over configured accounts, through the same pipeline as ``dossier import``.

Per folder: EXAMINE it and let ``ingest.decide_folder`` compare UIDVALIDITY / UIDNEXT /
HIGHESTMODSEQ with the stored cursor (unchanged folders cost one command), list the UIDs above
the cursor in windows, skip those already stored, fetch the rest in batches bounded by count and
bytes, and hand each batch to the :class:`~config.pipeline.Importer` (raw store -> parse -> link
-> index), which commits it together with the cursor moved over it. The cursor never passes a
UID that is not stored, so a pass that dies anywhere resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from ingest import (
    FolderAction,
    FolderKey,
    RawItem,
    begin_folder,
    finish_folder,
    record_folder_error,
    refresh_flags,
    remap_copies,
    save_cursor,
    stored_uids,
    utcnow,
)
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
from .lock import claim
from .oauth import run_secret_command, token_source
from .pipeline import Importer, index_pending
from .providers import presets
from .settings import AccountSettings, ConfigError, Settings

log = logging.getLogger(__name__)

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
        return run_secret_command(account.name, "password_command", account.password_command)
    return account.password


def imap_account(settings: Settings, account: AccountSettings) -> ImapAccount:
    """How to reach and sign in to ``account``: its password, or OAuth2 access tokens from its
    token_command or stored grant (renewed once when the server refuses one). Raises ConfigError
    for a ca_file that is not there."""
    if account.ca_file and not Path(account.ca_file).is_file():
        raise ConfigError(f"account {account.name!r}: ca_file {account.ca_file} does not exist or is not a file; "
                          "fix the path in dossier.toml (or remove ca_file to trust the system's CAs)")
    if account.auth == "password":
        secret, renew = (lambda: resolve_password(account)), None
    else:
        tokens = token_source(settings, account)
        secret, renew = tokens.token, tokens.renew
    return ImapAccount(
        name=account.name,
        host=account.host,
        port=account.port,
        username=account.username,
        password=secret,
        security=account.security,
        ca_file=account.ca_file or None,
        folders=account.folders,
        exclude=account.exclude_folders,
        timeout=account.timeout,
        auth=account.auth,
        renew=renew,
        login_hint=login_hint(account),
    )


def login_hint(account: AccountSettings) -> str:
    """What to check after the server refused the account's login, for where its secret comes from."""
    if account.auth != "password":
        if account.token_command:
            return ("check that token_command prints a current access token issued for this username with "
                    "IMAP access")
        return (f"check that username is the mailbox you signed in as; `dossier accounts authorize {account.name}` "
                "signs in again")
    preset = presets().get(account.provider)
    if preset is None:
        return ""
    return f"check the username and the password; {preset.title} wants {preset.secret}"


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
    skipped: list[str] = field(default_factory=list)  # accounts another node was syncing

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
            "skipped": len(self.skipped),
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

    def claimed(self, account: str) -> None:
        """This pass now syncs ``account`` (no other node does meanwhile)."""

    def released(self, account: str) -> None:
        """This pass is done with ``account``."""


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
        # One node at a time per account (on PostgreSQL; on SQLite this process is the only writer).
        with claim(archive.settings, f"account:{account.name}", f"dossier sync {account.name}") as holder:
            if holder is not None:
                report.skipped.append(f"{account.name}: being synced by {holder}")
                log.info("sync %s skipped: being synced by %s", account.name, holder)
                continue
            progress.claimed(account.name)
            try:
                _sync_claimed(archive, account, folders, progress, should_stop, retries, backoff, report)
            finally:
                progress.released(account.name)
        if should_stop():
            break
    report.seconds = time.monotonic() - started
    log.info("sync: %s", report.summary())
    return report


def _sync_claimed(archive, account, folders, progress, should_stop, retries, backoff, report) -> None:
    where: dict[str, str] = {}
    importer = _LazyImporter(archive, account.name)
    try:
        _sync_account(archive, importer, account, folders, progress, should_stop, retries, backoff, report, where)
    except (ImapError, ConfigError) as exc:
        report.errors.append(str(exc))
        _record_error(archive, account.name, where.get("folder", ""), where.get("name", ""), str(exc))
        log.info("sync %s failed: %s", account.name, exc)  # in the report, which the caller shows
    finally:
        importer.close()


class _LazyImporter:
    """The import pipeline, opened only when a folder has something to fetch: a pass over
    unchanged folders never loads the customer directory or the index writer."""

    def __init__(self, archive: Archive, account: str) -> None:
        self.archive, self.account = archive, account
        self._importer: Importer | None = None

    def add_batch(self, items: list[RawItem], with_batch: Callable[[Session], None]) -> tuple[int, int]:
        """Store one batch, committing ``with_batch``'s writes with it; return how many were new
        and how many already archived."""
        if self._importer is None:
            self._importer = Importer(self.archive, self.account).__enter__()
        report = self._importer.report
        before = (report.stored, report.duplicates)
        self._importer.add_batch(items, with_batch=with_batch)
        return report.stored - before[0], report.duplicates - before[1]

    def close(self) -> None:
        if self._importer is not None:
            exc = sys.exc_info()
            self._importer.__exit__(*exc)
            self._importer = None


def _sync_account(archive, importer, account, only, progress, should_stop, retries, backoff, report, where) -> None:
    done: set[str] = set()
    attempt = 0
    imap = imap_account(archive.settings, account)  # one token source for every reconnection of the pass
    while True:
        try:
            with ImapConnection(imap) as connection:
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
            # Once as a warning; the retries after it only with -v (the final failure is the error).
            log.log(logging.WARNING if attempt == 1 else logging.INFO, "%s; retrying in %.0f s (attempt %d of %d)",
                    exc, delay, attempt, retries)
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
    key = FolderKey(account, folder.raw, status.uidvalidity)
    with archive.sessions.begin() as session:
        plan = begin_folder(session, account, folder, status, utcnow())
    if plan.action is FolderAction.UNCHANGED:
        report.unchanged = True
        return report
    if plan.action is FolderAction.FLAGS_CHANGED:
        changed = connection.changed_flags(plan.since_modseq)
        with archive.sessions.begin() as session:
            refresh_flags(session, key, changed)
            finish_folder(session, key, status, plan.fetch_after, [], complete=True, now=utcnow())
        report.unchanged = True
        return report
    report.uidvalidity_changed = plan.action is FolderAction.RESCAN

    listed = connection.uids_after(plan.fetch_after, status.uidnext)
    report.listed = len(listed)
    with archive.sessions() as session:
        stored = stored_uids(session, key, listed)
    todo = [uid for uid in listed if uid not in stored]
    if plan.action is FolderAction.RESCAN and todo:
        headers = connection.message_ids(todo)
        with archive.sessions.begin() as session:
            remapped = remap_copies(session, key, headers)
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
                mailbox=folder.raw,
                uidvalidity=status.uidvalidity,
                uid=fetched.uid,
                flags=fetched.flags,
                internaldate=fetched.internaldate,
                labels=fetched.labels,
            )
            for fetched in connection.fetch(batch)
        ]
        stored.update(item.uid for item in items)
        # The cursor moves over what is stored (never past a UID that is not), committed with the batch.
        cursor, _ = advance_cursor(plan.fetch_after, [u for u in listed if u <= batch[-1]], stored)

        def move_cursor(session: Session, cursor: int = cursor) -> None:
            save_cursor(session, key, cursor)

        if items:
            new, known = importer.add_batch(items, move_cursor)
            report.stored += new
            report.duplicates += known
        else:
            with archive.sessions.begin() as session:
                move_cursor(session)
        report.fetched += len(items)
        progress.advance(len(batch))
    progress.done()
    cursor, gaps = advance_cursor(plan.fetch_after, listed, stored)
    if stopped:
        gaps = []
    report.gaps = gaps
    if gaps:
        log.warning("%s/%s: %d messages listed by the server were not returned (UIDs %s); they will be retried",
                    account, folder.name, len(gaps), ", ".join(map(str, gaps[:10])))
    with archive.sessions.begin() as session:
        finish_folder(session, key, status, cursor, gaps, complete=not stopped and not gaps, now=utcnow())
    return report


def _record_error(archive: Archive, account: str, mailbox: str, name: str, error: str | None) -> None:
    with archive.sessions.begin() as session:
        record_folder_error(session, account, mailbox, name, error, utcnow())
