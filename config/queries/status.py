"""The state of the archive: counts, index freshness, disk use, IMAP sync per folder and the nodes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import SHORT_ID_LENGTH, FolderState, Message, MessageCopy
from linker import Customer, Link

from ..archive import Archive, count_pending
from ..lock import running_daemons
from ..nodes import node_states
from .records import Record, field

#: Messages that failed to parse or were read partially that ``dossier status`` lists by name.
FAILURES_SHOWN = 10


@dataclass(frozen=True)
class FolderSync(Record):
    """One IMAP folder (or, with ``folder`` empty, an account's own error) as the last sync left it."""

    account: str
    folder: str
    messages: int  # archived from this folder
    last_success: datetime | None
    last_attempt: datetime | None
    error: str | None
    gaps: int  # UIDs the server listed but did not return, retried on every pass
    uidvalidity_changes: int


@dataclass(frozen=True)
class FailedMessage(Record):
    """A message that failed to parse, or (``partial``) was read only partly: its headers that
    parsed and its body as text are searchable."""

    id: str
    error: str | None
    partial: bool = False


@dataclass(frozen=True)
class NodeStatus(Record):
    """A data directory of the archive (on PostgreSQL there may be several, on several machines)
    and, while its daemon runs, what that daemon holds ("sync ACCOUNT", "nightly")."""

    id: str
    host: str
    data_dir: str
    pid: int | None = field("daemon_pid")  # its daemon's, while one runs
    heartbeat_at: datetime | None = field("heartbeat")  # the daemon's last, running or not
    holds: tuple[str, ...] = field()
    is_alive: bool = field("alive")


@dataclass(frozen=True)
class ArchiveStatus(Record):
    """What ``dossier status`` reports. ``--json`` prints every field but ``failures``, the first
    messages that failed to parse (the text form lists them)."""

    messages: int
    failed: int
    partial: int  # read partially: stored "ok" with the reason in ``error``
    customers: int
    linked: int
    unlinked: int
    internal: int
    indexed: int
    pending_index: int  # stored, not yet in the index
    index_documents: int
    engine: str  # the index's search engine
    last_import: datetime | None
    last_indexed: datetime | None
    folders: int  # distinct account/folder places mail came from
    data_dir: str
    data_dir_bytes: int
    sync: tuple[FolderSync, ...]
    #: The nodes, once a daemon has run or several data directories share the archive (PostgreSQL).
    nodes: tuple[NodeStatus, ...] | None = field(omit_none=True, default=None)
    failures: tuple[FailedMessage, ...] = field(default=())


def archive_status(archive: Archive) -> ArchiveStatus:
    """Counts of messages, failures, customers and links; index freshness; disk use; sync state;
    the nodes with what each daemon holds and its last heartbeat."""
    with archive.sessions() as session:
        def count(*where) -> int:
            return session.scalar(select(func.count()).select_from(Message).where(*where)) or 0

        linked_ids = select(Link.message_id)
        return ArchiveStatus(
            messages=count(Message.status == "ok"),
            failed=count(Message.status == "failed"),
            partial=count(Message.status == "ok", Message.error.is_not(None)),
            customers=session.scalar(select(func.count()).select_from(Customer)) or 0,
            linked=count(Message.status == "ok", Message.id.in_(linked_ids)),
            unlinked=count(Message.status == "ok", Message.is_internal.is_(False), Message.id.not_in(linked_ids)),
            internal=count(Message.status == "ok", Message.is_internal.is_(True)),
            indexed=count(Message.status == "ok", Message.indexed_at.is_not(None)),
            pending_index=count_pending(session),
            index_documents=archive.index.doc_count(),
            engine=archive.index.engine_name,
            last_import=session.scalar(select(func.max(Message.stored_at))),
            last_indexed=session.scalar(select(func.max(Message.indexed_at))),
            folders=session.scalar(
                select(func.count()).select_from(
                    select(MessageCopy.account, MessageCopy.folder).distinct().subquery()
                )
            ) or 0,
            data_dir=str(archive.settings.data_dir),
            data_dir_bytes=_dir_size(archive.settings.data_dir),
            sync=_sync_status(session),
            nodes=_nodes(archive, session),
            failures=tuple(
                FailedMessage(sha[:SHORT_ID_LENGTH], error, partial=status != "failed")
                for sha, status, error in session.execute(
                    select(Message.sha256, Message.status, Message.error).where(Message.error.is_not(None))
                    .order_by(Message.id).limit(FAILURES_SHOWN)
                )
            ),
        )


def _nodes(archive: Archive, session: Session) -> tuple[NodeStatus, ...] | None:
    # On PostgreSQL the server tells whose daemon holds its lock (a dead one's heartbeat may be recent).
    nodes = node_states(session, running=lambda ids: running_daemons(archive.settings, ids))
    if len(nodes) < 2 and not any(n.heartbeat_at for n in nodes):
        return None
    return tuple(NodeStatus(n.id, n.host, n.data_dir, n.pid, n.heartbeat_at, n.holds, n.is_alive) for n in nodes)


def _dir_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _sync_status(session: Session) -> tuple[FolderSync, ...]:
    counts = dict(
        ((account, folder), n) for account, folder, n in session.execute(
            select(MessageCopy.account, MessageCopy.folder, func.count())
            .where(MessageCopy.uid.is_not(None))
            .group_by(MessageCopy.account, MessageCopy.folder)
        )
    )
    return tuple(
        FolderSync(
            account=state.account,
            folder=state.name,
            messages=counts.get((state.account, state.name), 0),
            last_success=state.last_success_at,
            last_attempt=state.last_attempt_at,
            error=state.last_error,
            gaps=len(state.gaps or []),
            uidvalidity_changes=state.uidvalidity_changes,
        )
        for state in session.scalars(select(FolderState).order_by(FolderState.account, FolderState.name))
    )


def stored_message_count(archive: Archive, *, parsed_only: bool = False) -> int:
    """Messages in the archive (only those that parsed, with ``parsed_only``): a progress bar's total."""
    query = select(func.count()).select_from(Message)
    if parsed_only:
        query = query.where(Message.status == "ok")
    with archive.sessions() as session:
        return session.scalar(query) or 0
