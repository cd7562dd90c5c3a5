"""The IMAP accounts the config names, as people may see them (never their passwords)."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import Settings
from .records import Listing, Record


@dataclass(frozen=True)
class AccountRow(Record):
    """An ``[[accounts]]`` table of the config, never with its password."""

    name: str
    host: str
    port: int
    security: str
    username: str
    folders: tuple[str, ...]
    exclude_folders: tuple[str, ...]
    interval_minutes: float
    provider: str  # the preset it was filled from, or ""
    auth: str  # password, xoauth2 or oauthbearer


@dataclass(frozen=True)
class AccountList(Listing):
    accounts: tuple[AccountRow, ...]


def list_accounts(settings: Settings) -> AccountList:
    """The IMAP accounts ``settings`` configure."""
    return AccountList(tuple(
        AccountRow(a.name, a.host, a.port, a.security, a.username, tuple(a.folders), tuple(a.exclude_folders),
                   a.interval, a.provider, a.auth)
        for a in settings.accounts
    ))
