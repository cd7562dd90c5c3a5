"""People who may use the web front end: accounts, roles, passwords (Argon2) and signing in.

Users are managed from the CLI (``dossier users``); the web front end signs them in. Roles:
``admin`` (everything, the status page and the audit log), ``manager`` (every customer, the
handover), ``rep`` (their own scope: :func:`user_scope`). There is never a default account.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ingest import utcnow
from linker import normalize_email, normalize_owner

from .archive import Archive
from .audit import add_event, count_events
from .models import User
from .queries.records import Listing, Record, field
from .queries.scope import Scope
from .settings import ConfigError, Settings

log = logging.getLogger(__name__)

ROLES = ("admin", "manager", "rep")
MIN_PASSWORD = 10
#: Failed sign-ins allowed per account, and per client address, within THROTTLE_WINDOW.
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
THROTTLE_WINDOW = timedelta(minutes=15)


class UserError(ConfigError):
    """A user cannot be added or changed as asked (unknown, already there, a weak password …)."""


class SignInError(ConfigError):
    """Wrong address or password, or a disabled account (one message for all: nothing leaks)."""


class SignInThrottledError(SignInError):
    """Too many failed sign-ins for this account or from this address lately."""


@dataclass(frozen=True)
class UserRow(Record):
    email: str
    name: str
    role: str
    is_disabled: bool
    created_at: datetime
    id: int = field(None, default=0)
    #: Changes with the password: a session cookie carries it, so a new password signs every session out.
    stamp: str = field(None, default="")

    @property
    def sees_everything(self) -> bool:
        return self.role in ("admin", "manager")


@dataclass(frozen=True)
class UserList(Listing):
    users: tuple[UserRow, ...]


def _row(user: User) -> UserRow:
    stamp = hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]
    return UserRow(user.email, user.name, user.role, user.is_disabled, user.created_at, user.id, stamp)


def _hasher():
    from argon2 import PasswordHasher  # only the commands and pages that check passwords load it

    return PasswordHasher()


def _email(value: str) -> str:
    found = normalize_email(value.strip())
    if found is None:
        raise UserError(f"{value!r} is not an e-mail address; users sign in with theirs")
    return found


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is too short: use at least {MIN_PASSWORD} characters")


def add_user(archive: Archive, email: str, role: str, password: str, *, name: str = "") -> UserRow:
    """Add a user. Raises UserError for a bad address, role or password, or one already there."""
    address = _email(email)
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    _check_password(password)
    digest = _hasher().hash(password)
    with archive.sessions.begin() as session:
        if session.scalar(select(User).where(User.email == address)) is not None:
            raise UserError(f"{address} is already a user; change the password with `dossier users passwd {address}`")
        user = User(email=address, name=" ".join(name.split()), role=role, password_hash=digest, is_disabled=False,
                    created_at=utcnow())
        session.add(user)
        session.flush()
        return _row(user)


def _find(session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == _email(email)))
    if user is None:
        raise UserError(f"no user {email!r}; see `dossier users list`")
    return user


def set_password(archive: Archive, email: str, password: str) -> UserRow:
    """Give a user a new password (and enable them again). Every session they had ends.
    Raises UserError."""
    _check_password(password)
    digest = _hasher().hash(password)
    with archive.sessions.begin() as session:
        user = _find(session, email)
        user.password_hash, user.is_disabled = digest, False
        return _row(user)


def disable_user(archive: Archive, email: str) -> UserRow:
    """Stop a user from signing in; their sessions end with their next request. Raises UserError."""
    with archive.sessions.begin() as session:
        user = _find(session, email)
        user.is_disabled = True
        return _row(user)


def list_users(archive: Archive) -> UserList:
    with archive.sessions() as session:
        return UserList(tuple(_row(u) for u in session.scalars(select(User).order_by(User.email))))


def active_user(archive: Archive, user_id: int, stamp: str) -> UserRow | None:
    """The enabled user ``user_id`` if their password is still the one ``stamp`` was made from."""
    with archive.sessions() as session:
        user = session.get(User, user_id)
        if user is None or user.is_disabled:
            return None
        row = _row(user)
    return row if row.stamp == stamp else None


@functools.cache
def _dummy_hash() -> str:
    """A hash verified when the address is unknown, so that a wrong address costs as long as a
    wrong password (no way to tell by timing which accounts exist)."""
    return _hasher().hash("no such user")


def sign_in(archive: Archive, email: str, password: str, *, address: str = "",
            now: datetime | None = None) -> UserRow:
    """The user ``email`` names if ``password`` is theirs and they are enabled; every attempt is
    audited. Raises SignInThrottledError after too many recent failures for the account or the
    address, SignInError otherwise."""
    from argon2.exceptions import InvalidHashError, VerificationError

    now = now or utcnow()
    typed = normalize_email(email.strip()) or email.strip()[:320]
    hasher = _hasher()
    refusal: SignInError | None = None
    with archive.sessions.begin() as session:  # the audit row commits whatever the outcome
        since = now - THROTTLE_WINDOW
        if (count_events(session, "signin_failed", since, actor=typed) >= MAX_FAILURES_PER_ACCOUNT
                or (address and count_events(session, "signin_failed", since, address=address)
                    >= MAX_FAILURES_PER_ADDRESS)):
            add_event(session, typed, "signin_refused", "too many failed attempts", address, at=now)
            refusal = SignInThrottledError("too many failed sign-ins; wait 15 minutes and try again")
        else:
            user = session.scalar(select(User).where(User.email == typed))
            try:
                hasher.verify(user.password_hash if user else _dummy_hash(), password)
                ok = user is not None and not user.is_disabled
            except (VerificationError, InvalidHashError):
                ok = False
            if ok:
                if hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = hasher.hash(password)
                add_event(session, user.email, "signin", user.role, address, at=now)
                row = _row(user)
            else:
                add_event(session, typed, "signin_failed", "", address, at=now)
                refusal = SignInError("wrong e-mail address or password")
    if refusal is not None:
        raise refusal
    return row


def user_scope(settings: Settings, user: UserRow) -> Scope | None:
    """What ``user`` may read: everything for admins and managers; for a rep, the customers whose
    owner is their address (or their name, where the customer sheet names owners by name) and the
    IMAP accounts whose ``owner`` names them."""
    if user.sees_everything:
        return None
    names = [user.email] + ([user.name] if user.name else [])
    scope = Scope.of(names)
    accounts = [a.name for a in settings.accounts if a.owner and scope.names(normalize_owner(a.owner))]
    return Scope(scope.owners, frozenset(accounts))
