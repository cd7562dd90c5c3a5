"""IMAP folder state: what a sync does with a folder (:func:`decide_folder`, pure), and the session
helpers that keep the folder's cursor and its messages' copies. Helpers take a Session and never
commit.

A message's place on an IMAP server is its account, the server's own folder name (modified
UTF-7), the folder's UIDVALIDITY and its UID (:class:`FolderKey` and a UID). A copy keeps the
UIDVALIDITY its UID belongs to: after a UIDVALIDITY change its old UID is still true of the old
folder, and the re-scan gives it the new one when it finds the message again.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from .imap import FolderInfo, FolderStatus
from .models import FolderState, Message, MessageCopy

__all__ = [
    "FolderAction",
    "FolderCursor",
    "FolderKey",
    "FolderPlan",
    "begin_folder",
    "decide_folder",
    "finish_folder",
    "record_folder_error",
    "refresh_flags",
    "remap_copies",
    "save_cursor",
    "stored_uids",
]

log = logging.getLogger(__name__)

#: A folder whose UIDVALIDITY changed this many times is reported as unstable.
UNSTABLE_UIDVALIDITY = 3
#: UIDs per IN list in one statement.
IN_CHUNK = 500


class FolderAction(enum.Enum):
    UNCHANGED = "unchanged"  # nothing new and no flag changed: nothing to do
    FLAGS_CHANGED = "flags changed"  # nothing new, but flags changed since the stored HIGHESTMODSEQ
    RESCAN = "rescan"  # UIDVALIDITY changed: every UID is listed again, stored copies re-mapped
    FETCH = "fetch"  # fetch the UIDs above ``FolderPlan.fetch_after``


@dataclass(frozen=True)
class FolderCursor:
    """What is stored of a folder from the last pass: everything up to ``last_uid`` under
    ``uidvalidity`` is archived; ``uidnext`` and ``highestmodseq`` are those of the last
    complete pass; ``gaps`` are UIDs listed but not returned, to retry."""

    uidvalidity: int | None = None
    last_uid: int = 0
    uidnext: int | None = None
    highestmodseq: int | None = None
    gaps: tuple[int, ...] = ()


@dataclass(frozen=True)
class FolderPlan:
    action: FolderAction
    fetch_after: int = 0  # FETCH, RESCAN: list the UIDs above this one
    since_modseq: int | None = None  # FLAGS_CHANGED: the flags changed after this MODSEQ


@dataclass(frozen=True)
class FolderKey:
    """One IMAP folder of one account as the server knows it: its own name and UIDVALIDITY."""

    account: str
    mailbox: str
    uidvalidity: int


def decide_folder(cursor: FolderCursor | None, status: FolderStatus) -> FolderPlan:
    """What a pass does with a folder whose stored cursor is ``cursor`` (None: never seen) and
    whose EXAMINE answered ``status``. An unchanged UIDNEXT (and HIGHESTMODSEQ, where the server
    has CONDSTORE) skips the folder; only a complete pass (no gaps) may let the next one skip."""
    if cursor is None or cursor.uidvalidity is None:
        return FolderPlan(FolderAction.FETCH, fetch_after=cursor.last_uid if cursor else 0)
    if cursor.uidvalidity != status.uidvalidity:
        return FolderPlan(FolderAction.RESCAN, fetch_after=0)
    if status.uidnext is None or cursor.uidnext != status.uidnext or cursor.gaps:
        return FolderPlan(FolderAction.FETCH, fetch_after=cursor.last_uid)
    if status.highestmodseq is not None and cursor.highestmodseq is not None \
            and status.highestmodseq != cursor.highestmodseq:
        return FolderPlan(FolderAction.FLAGS_CHANGED, fetch_after=cursor.last_uid, since_modseq=cursor.highestmodseq)
    return FolderPlan(FolderAction.UNCHANGED, fetch_after=cursor.last_uid)


# ---------------------------------------------------------------------------- the folder's state row


def _state(session: Session, account: str, mailbox: str) -> FolderState | None:
    return session.scalar(select(FolderState).where(FolderState.account == account, FolderState.folder == mailbox))


def _new_state(session: Session, account: str, mailbox: str, name: str) -> FolderState:
    state = FolderState(account=account, folder=mailbox, name=name, last_uid=0, gaps=[], uidvalidity_changes=0)
    session.add(state)
    return state


def _cursor(state: FolderState) -> FolderCursor:
    return FolderCursor(uidvalidity=state.uidvalidity, last_uid=state.last_uid or 0, uidnext=state.uidnext,
                        highestmodseq=state.highestmodseq, gaps=tuple(state.gaps or ()))


def begin_folder(session: Session, account: str, folder: FolderInfo, status: FolderStatus,
                 now: datetime) -> FolderPlan:
    """Decide what to do with ``folder`` after EXAMINE answered ``status``, and record the
    attempt: a new folder gets its state, a UIDVALIDITY change resets the cursor for a re-scan,
    an unchanged folder is marked synced."""
    state = _state(session, account, folder.raw) or _new_state(session, account, folder.raw, folder.name)
    state.last_attempt_at = now
    plan = decide_folder(_cursor(state), status)
    if plan.action is FolderAction.RESCAN:
        state.uidvalidity_changes = (state.uidvalidity_changes or 0) + 1
        log.warning("%s/%s: UIDVALIDITY changed (%s -> %s); re-scanning the folder", account, folder.name,
                    state.uidvalidity, status.uidvalidity)
        if state.uidvalidity_changes >= UNSTABLE_UIDVALIDITY:
            log.warning("%s/%s: UIDVALIDITY has changed %d times; the server may be rebuilding this folder "
                        "repeatedly, which costs a full re-scan each time", account, folder.name,
                        state.uidvalidity_changes)
        state.last_uid, state.gaps, state.uidnext, state.highestmodseq = 0, [], None, None
    state.uidvalidity = status.uidvalidity
    state.name = folder.name
    if plan.action is FolderAction.UNCHANGED:
        state.last_success_at, state.last_error = now, None
        state.exists = status.exists
    return plan


def save_cursor(session: Session, key: FolderKey, cursor: int) -> None:
    """Move the folder's cursor: every UID up to ``cursor`` is stored (write it in the
    transaction that stores them)."""
    session.execute(update(FolderState).where(
        FolderState.account == key.account, FolderState.folder == key.mailbox).values(last_uid=cursor))


def finish_folder(session: Session, key: FolderKey, status: FolderStatus, cursor: int, gaps: Sequence[int], *,
                  complete: bool, now: datetime) -> None:
    """Record the end of a pass over the folder: the cursor and the UIDs to retry; a complete
    pass also records UIDNEXT and HIGHESTMODSEQ, which let the next pass skip an unchanged folder."""
    state = _state(session, key.account, key.mailbox)
    state.last_uid = cursor
    state.gaps = list(gaps)
    state.exists = status.exists
    if complete:
        state.uidnext = status.uidnext
        state.highestmodseq = status.highestmodseq
        state.last_success_at = now
        state.last_error = None


def record_folder_error(session: Session, account: str, mailbox: str, name: str, error: str | None,
                        now: datetime) -> None:
    """Record (or, with ``error=None``, clear) the error of a folder, or of the account as a
    whole (``mailbox=""``: login or listing failed)."""
    state = _state(session, account, mailbox)
    if state is None:
        if error is None:
            return
        state = _new_state(session, account, mailbox, name)
    state.last_attempt_at = now
    state.last_error = error


# ---------------------------------------------------------------------------- the folder's copies


def _chunks(uids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(uids))
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start:start + IN_CHUNK]


def stored_uids(session: Session, key: FolderKey, uids: Iterable[int]) -> set[int]:
    """Of ``uids``, those already stored as copies of this folder under its UIDVALIDITY (after a
    crash the cursor may lag behind what was committed)."""
    found: set[int] = set()
    for chunk in _chunks(uids):
        found.update(session.scalars(select(MessageCopy.uid).where(
            MessageCopy.account == key.account, MessageCopy.mailbox == key.mailbox,
            MessageCopy.uidvalidity == key.uidvalidity, MessageCopy.uid.in_(chunk))))
    return found


def remap_copies(session: Session, key: FolderKey, headers: Mapping[int, tuple[str, int]]) -> set[int]:
    """After a UIDVALIDITY change: give the folder's copies stored under another UIDVALIDITY the
    new UIDs of the same messages, matched by Message-ID and size (``headers``: UID -> both, as
    the server reports them), so they are not fetched again. Return the UIDs re-mapped."""
    copies = session.execute(
        select(MessageCopy, Message.header_message_id, Message.size)
        .join(Message, Message.id == MessageCopy.message_id)
        .where(MessageCopy.account == key.account, MessageCopy.mailbox == key.mailbox,
               or_(MessageCopy.uidvalidity.is_(None), MessageCopy.uidvalidity != key.uidvalidity))
        .order_by(MessageCopy.id)
    ).all()
    by_key: dict[tuple[str, int], list[MessageCopy]] = {}
    for copy, message_id, size in copies:
        if message_id:
            by_key.setdefault((message_id, size), []).append(copy)
    remapped: set[int] = set()
    for uid, (message_id, size) in sorted(headers.items()):
        match = (message_id.strip().strip("<>").strip(), size)
        candidates = by_key.get(match)
        if match[0] and candidates:
            copy = candidates.pop()
            copy.uid, copy.uidvalidity = uid, key.uidvalidity
            remapped.add(uid)
    return remapped


def refresh_flags(session: Session, key: FolderKey, changed: Mapping[int, Sequence[str]]) -> None:
    """Give the folder's copies the flags the server now reports (UID -> flags)."""
    for uid, flags in changed.items():
        session.execute(update(MessageCopy).where(
            MessageCopy.account == key.account, MessageCopy.mailbox == key.mailbox,
            MessageCopy.uidvalidity == key.uidvalidity, MessageCopy.uid == uid,
        ).values(flags=list(flags)))
