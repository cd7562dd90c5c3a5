"""Talking to the configured IMAP accounts: trying one out, and a sync pass over some or all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest.imap import ImapConnection, choose_folders, missing_folders

from .archive import Archive
from .queries.records import Record
from .settings import ConfigError, Settings
from .sync import LogProgress, SyncProgress, SyncReport, imap_account, sync


@dataclass(frozen=True)
class FolderProbe(Record):
    name: str
    fetched: bool  # a sync would fetch it
    messages: int | None  # on the server, for a folder a sync fetches
    reason: str  # why a sync skips it: "not selectable", its special use, or "excluded"


@dataclass(frozen=True)
class AccountProbe(Record):
    """What logging in to an account showed: every folder, and the configured folder names the
    server does not have."""

    name: str
    host: str
    port: int
    username: str
    security: str
    folders: tuple[FolderProbe, ...]
    missing: tuple[str, ...]


def probe_account(settings: Settings, name: str) -> AccountProbe:
    """Log in to the account ``name`` and list the folders a sync would fetch, with message counts.
    Raises ConfigError for an unknown account or password, ImapError saying plainly what failed
    (DNS, refused, TLS verification, credentials)."""
    account = settings.account(name)
    with ImapConnection(imap_account(settings, account)) as connection:
        folders = connection.list_folders()
        picked = {f.raw for f in choose_folders(folders, account.folders, account.exclude_folders)}
        probes = tuple(
            FolderProbe(f.name, True, connection.message_count(f), "") if f.raw in picked else
            FolderProbe(f.name, False, None, "not selectable" if not f.selectable else (f.special_use or "excluded"))
            for f in folders
        )
    missing = tuple(missing_folders(folders, account.folders))
    return AccountProbe(account.name, account.host, account.port, account.username, account.security, probes,
                        missing)


def sync_accounts(archive: Archive, names: Sequence[str] = (), *, folders: Sequence[str] = (),
                  progress: SyncProgress | None = None) -> SyncReport:
    """One read-only pass over the accounts ``names`` (all configured ones when empty), only the
    folders matching ``folders`` globs if given; progress is logged unless ``progress`` is given.
    Raises ConfigError for an unknown account or when none is configured."""
    settings = archive.settings
    accounts = [settings.account(n) for n in names] if names else list(settings.accounts)
    if not accounts:
        raise ConfigError(f"no accounts configured; add [[accounts]] to {settings.config_path}")
    return sync(archive, accounts, folders=folders, progress=progress or LogProgress())
