"""The IMAP folder decision (pure, table-driven) and the folder state and copy helpers on a real
SQLite database; no server."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import (
    FolderAction,
    FolderCursor,
    FolderKey,
    FolderPlan,
    FolderState,
    Message,
    MessageCopy,
    RawItem,
    add_copy,
    begin_folder,
    decide_folder,
    finish_folder,
    record_folder_error,
    refresh_flags,
    remap_copies,
    save_cursor,
    stored_uids,
)
from ingest.imap import FolderInfo, FolderStatus

FETCH, RESCAN, UNCHANGED, FLAGS = (FolderAction.FETCH, FolderAction.RESCAN, FolderAction.UNCHANGED,
                                   FolderAction.FLAGS_CHANGED)
SYNCED = FolderCursor(uidvalidity=7, last_uid=40, uidnext=41, highestmodseq=900)


@pytest.mark.parametrize(("cursor", "status", "plan"), [
    # never seen, or seen only through an error: everything
    (None, FolderStatus(7, 41, 40, 900), FolderPlan(FETCH, fetch_after=0)),
    (FolderCursor(), FolderStatus(7, 41, 40, None), FolderPlan(FETCH, fetch_after=0)),
    # nothing moved: one command, nothing else
    (SYNCED, FolderStatus(7, 41, 40, 900), FolderPlan(UNCHANGED, fetch_after=40)),
    (FolderCursor(7, 40, 41, None), FolderStatus(7, 41, 40, None), FolderPlan(UNCHANGED, fetch_after=40)),
    # only flags moved (CONDSTORE): refresh them from the stored MODSEQ on
    (SYNCED, FolderStatus(7, 41, 40, 950), FolderPlan(FLAGS, fetch_after=40, since_modseq=900)),
    # no MODSEQ on either side: flags cannot be told apart, the folder is unchanged
    (FolderCursor(7, 40, 41, None), FolderStatus(7, 41, 40, 950), FolderPlan(UNCHANGED, fetch_after=40)),
    # new mail
    (SYNCED, FolderStatus(7, 45, 44, 990), FolderPlan(FETCH, fetch_after=40)),
    # a server without UIDNEXT is always asked
    (SYNCED, FolderStatus(7, None, 40, 900), FolderPlan(FETCH, fetch_after=40)),
    # UIDs the last pass could not fetch are retried although nothing moved
    (FolderCursor(7, 38, 41, 900, gaps=(39,)), FolderStatus(7, 41, 40, 900), FolderPlan(FETCH, fetch_after=38)),
    # an interrupted pass (no UIDNEXT recorded) goes on from its cursor
    (FolderCursor(7, 20, None, None), FolderStatus(7, 41, 40, 900), FolderPlan(FETCH, fetch_after=20)),
    # UIDVALIDITY changed: the old UIDs mean nothing; list them all and re-map
    (SYNCED, FolderStatus(8, 41, 40, 900), FolderPlan(RESCAN, fetch_after=0)),
    (SYNCED, FolderStatus(8, 3, 2, 5), FolderPlan(RESCAN, fetch_after=0)),
])
def test_decide_folder(cursor, status, plan):
    assert decide_folder(cursor, status) == plan


# ---------------------------------------------------------------------------- on a database

NOW = datetime(2025, 6, 1, 12, 0)
FOLDER = FolderInfo(raw="Customers/&Ti1W,VuiYjc-", name="Customers/中国客户")
KEY = FolderKey("work", FOLDER.raw, 7)


def _state(session: Session) -> FolderState:
    return session.scalars(select(FolderState)).one()


def _message(session: Session, n: int, *, message_id: str | None = None, size: int = 100) -> Message:
    message = Message(sha256=f"{n:064d}", size=size, status="ok", header_message_id=message_id or f"m{n}@x",
                      subject="", date=NOW, date_source="date", references=[], defects=[], stored_at=NOW, copies=[])
    session.add(message)
    return message


def _fetched(message: Message, uid: int, *, uidvalidity: int = 7, flags: tuple[str, ...] = ()) -> None:
    item = RawItem(data=b"", folder=FOLDER.name, origin=f"imap://work/{FOLDER.name};UID={uid}", mailbox=FOLDER.raw,
                   uidvalidity=uidvalidity, uid=uid, flags=flags)
    add_copy(Session.object_session(message), message, "work", item, NOW)


def test_a_new_folder_gets_its_state_keyed_by_the_server_name(session: Session):
    plan = begin_folder(session, "work", FOLDER, FolderStatus(7, 41, 40, 900), NOW)
    assert plan == FolderPlan(FETCH)
    state = _state(session)
    assert (state.folder, state.name, state.uidvalidity, state.last_attempt_at) == (FOLDER.raw, FOLDER.name, 7, NOW)
    assert state.last_success_at is None


def test_a_pass_saves_its_cursor_and_a_complete_one_lets_the_next_skip_the_folder(session: Session):
    status = FolderStatus(7, 41, 40, 900)
    begin_folder(session, "work", FOLDER, status, NOW)
    save_cursor(session, KEY, 20)
    assert _state(session).last_uid == 20
    finish_folder(session, KEY, status, 38, [39], complete=False, now=NOW)
    assert begin_folder(session, "work", FOLDER, status, NOW) == FolderPlan(FETCH, fetch_after=38)  # 39 is retried
    finish_folder(session, KEY, status, 40, [], complete=True, now=NOW)
    state = _state(session)
    assert (state.last_uid, state.gaps, state.uidnext, state.highestmodseq, state.last_success_at) == (
        40, [], 41, 900, NOW)
    later = datetime(2025, 6, 2)
    assert begin_folder(session, "work", FOLDER, status, later) == FolderPlan(UNCHANGED, fetch_after=40)
    assert _state(session).last_success_at == later


def test_a_uidvalidity_change_resets_the_cursor_and_keeps_the_copies_with_their_old_uids(session: Session):
    begin_folder(session, "work", FOLDER, FolderStatus(7, 3, 2, None), NOW)
    first, second, gone = _message(session, 1), _message(session, 2), _message(session, 3)
    for uid, message in enumerate((first, second, gone), start=1):
        _fetched(message, uid)
    finish_folder(session, KEY, FolderStatus(7, 4, 3, None), 3, [], complete=True, now=NOW)
    session.flush()
    assert stored_uids(session, KEY, [1, 2, 3, 4]) == {1, 2, 3}

    plan = begin_folder(session, "work", FOLDER, FolderStatus(8, 3, 2, None), NOW)
    assert plan == FolderPlan(RESCAN)
    state = _state(session)
    assert (state.uidvalidity, state.last_uid, state.uidnext, state.uidvalidity_changes) == (8, 0, None, 1)
    rescan = FolderKey("work", FOLDER.raw, 8)
    assert stored_uids(session, rescan, [1, 2]) == set()  # old UIDs are not the new folder's
    remapped = remap_copies(session, rescan, {1: ("<m2@x>", 100), 2: ("<m1@x>", 100), 5: ("<new@x>", 100)})
    assert remapped == {1, 2}
    places = {m.id: (c.uidvalidity, c.uid) for m in (first, second, gone) for c in m.copies}
    assert places == {first.id: (8, 2), second.id: (8, 1), gone.id: (7, 3)}  # gone: still true of the old folder
    assert stored_uids(session, rescan, [1, 2, 3]) == {1, 2}


def test_remapping_needs_the_same_message_id_and_size(session: Session):
    begin_folder(session, "work", FOLDER, FolderStatus(7, 3, 2, None), NOW)
    _fetched(_message(session, 1, size=100), 1)
    _fetched(_message(session, 2, message_id=None), 2)
    session.flush()
    rescan = FolderKey("work", FOLDER.raw, 8)
    assert remap_copies(session, rescan, {1: ("<m1@x>", 101), 2: ("", 100)}) == set()


def test_flag_changes_reach_only_the_copy_with_that_uid_under_that_uidvalidity(session: Session):
    begin_folder(session, "work", FOLDER, FolderStatus(7, 3, 2, None), NOW)
    current, old = _message(session, 1), _message(session, 2)
    _fetched(current, 1)
    _fetched(old, 1, uidvalidity=6)  # the same UID under an earlier UIDVALIDITY
    session.flush()
    refresh_flags(session, KEY, {1: ("\\Seen", "\\Answered")})
    session.expire_all()
    flags = dict(session.execute(select(MessageCopy.uidvalidity, MessageCopy.flags)).all())
    assert flags == {7: ["\\Seen", "\\Answered"], 6: []}


def test_a_message_found_again_in_the_same_folder_keeps_one_copy(session: Session):
    message = _message(session, 1)
    _fetched(message, 1)
    _fetched(message, 9, uidvalidity=8)
    session.flush()
    assert session.scalar(select(func.count()).select_from(MessageCopy)) == 1
    assert [(c.mailbox, c.folder, c.uidvalidity, c.uid) for c in message.copies] == [
        (FOLDER.raw, FOLDER.name, 8, 9)]


def test_errors_are_recorded_per_folder_or_account_and_cleared(session: Session):
    record_folder_error(session, "work", "", "", None, NOW)  # nothing to clear: no row
    assert session.scalar(select(func.count()).select_from(FolderState)) == 0
    record_folder_error(session, "work", "", "", "login failed", NOW)
    record_folder_error(session, "work", FOLDER.raw, FOLDER.name, "cannot open folder", NOW)
    errors = dict(session.execute(select(FolderState.folder, FolderState.last_error)).all())
    assert errors == {"": "login failed", FOLDER.raw: "cannot open folder"}
    record_folder_error(session, "work", "", "", None, NOW)
    assert session.scalar(select(FolderState.last_error).where(FolderState.folder == "")) is None
    assert decide_folder(FolderCursor(), FolderStatus(7, 41, 40, None)) == FolderPlan(FETCH)
