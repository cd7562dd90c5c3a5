"""The archive's nodes: each daemon's heartbeat and what it holds, the jobs run once for the whole
archive, and the list of nodes ``dossier status`` shows."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ingest import utcnow

from .models import ClusterJob, Node

log = logging.getLogger(__name__)

#: Seconds between a daemon's heartbeats; a node silent for three of them is taken for gone.
HEARTBEAT = 10.0
ALIVE = timedelta(seconds=3 * HEARTBEAT)


class Heartbeat:
    """A running daemon's presence in the ``nodes`` table: its pid, a heartbeat every
    :data:`HEARTBEAT` seconds from a thread of its own, and what it holds (``hold``/``release``:
    "sync work", "nightly"), written at once when that changes."""

    def __init__(self, engine: Engine, node: str, *, every: float = HEARTBEAT) -> None:
        self.engine = engine
        self.node = node
        self.every = every
        self._holds: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        now = utcnow()
        self._write(pid=os.getpid(), started_at=now, heartbeat_at=now, stopped_at=None, holds=[])
        self._thread = threading.Thread(target=self._run, name="dossier-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()

    def beat(self) -> None:
        with self._lock:
            holds = list(self._holds)
        self._write(heartbeat_at=utcnow(), holds=holds)

    def hold(self, what: str) -> None:
        with self._lock:
            self._holds.append(what)
        self.beat()

    def release(self, what: str) -> None:
        with self._lock:
            if what in self._holds:
                self._holds.remove(what)
        self.beat()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._write(pid=None, stopped_at=utcnow(), holds=[])

    def _write(self, **values: object) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(update(Node).where(Node.id == self.node).values(**values))
        except SQLAlchemyError as exc:  # a missed heartbeat is no reason to stop the daemon
            log.warning("could not record the heartbeat of node %s: %s", self.node, exc)


@dataclass(frozen=True)
class NodeState:
    id: str
    host: str
    data_dir: str
    pid: int | None  # its daemon's, while one runs
    heartbeat_at: datetime | None
    holds: tuple[str, ...]
    is_alive: bool  # a daemon that beat within ALIVE


def node_states(session: Session, now: datetime | None = None,
                running: Callable[[list[str]], set[str] | None] = lambda nodes: None) -> list[NodeState]:
    """Every node of the archive, the ones with a live daemon first. ``running`` tells which
    nodes' daemons hold their lock now (None: cannot tell); else a recent heartbeat counts."""
    now = now or utcnow()
    states = []
    rows = session.scalars(select(Node).order_by(Node.joined_at, Node.id)).all()
    locked = running([node.id for node in rows])
    for node in rows:
        alive = node.pid is not None and node.heartbeat_at is not None and now - node.heartbeat_at <= ALIVE
        alive = alive if locked is None else node.id in locked
        states.append(NodeState(id=node.id, host=node.host, data_dir=node.data_dir, pid=node.pid if alive else None,
                                heartbeat_at=node.heartbeat_at, holds=tuple(node.holds or ()) if alive else (),
                                is_alive=alive))
    return sorted(states, key=lambda s: not s.is_alive)


def other_live_nodes(session: Session, node: str,
                     running: Callable[[list[str]], set[str] | None] = lambda nodes: None) -> list[NodeState]:
    """The nodes other than ``node`` whose daemon runs (see :func:`node_states`)."""
    return [s for s in node_states(session, running=running) if s.is_alive and s.id != node]


def run_once(session_factory: Callable[[], Session], name: str, slot: datetime, node: str,
             job: Callable[[], None]) -> bool:
    """Run ``job`` for the scheduled time ``slot`` unless a node already finished it for that
    slot (the caller holds the job's claim, so no other node is running it now); return
    whether it ran. A run that died leaves no ``finished_at``: the next node runs it again."""
    with session_factory() as session:
        done = session.get(ClusterJob, name)
        if done is not None and done.finished_at is not None and done.slot >= slot:
            log.info("%s for %s already done by node %s", name, slot, done.node)
            return False
    with session_factory() as session, session.begin():
        row = session.get(ClusterJob, name) or ClusterJob(name=name)
        row.slot, row.node, row.started_at, row.finished_at = slot, node, utcnow(), None
        session.add(row)
    job()
    with session_factory() as session, session.begin():
        session.get(ClusterJob, name).finished_at = utcnow()
    return True
