"""Who may write: the archive's write lock, its daemon lock and its claims, each naming its holder.

Commands that write (import, sync, reindex, relink, customer edits) and every daemon job take
the *write* lock; a running daemon also holds the *daemon* lock for its whole life, so a
second daemon on the same data directory refuses to start.

On SQLite the locks are ``flock`` locks on files in the data directory (:class:`ArchiveLock`):
one writer at a time. On PostgreSQL, where several nodes on several machines share one archive
and a ``flock`` would hold on one machine only, they are PostgreSQL advisory locks
(:class:`DatabaseLock`): imports and syncs share the write lock (each message is stored once
whoever gets there first), everything else takes it alone; an IMAP account is claimed by one
node per pass (:func:`claim`), and so is the nightly job. Either kind is dropped when its holder
dies (the kernel closes the file, the server the connection): a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .settings import ConfigError

if TYPE_CHECKING:
    from .settings import Settings

WRITE_LOCK = "write.lock"
DAEMON_LOCK = "daemon.lock"


class ArchiveLock:
    """``with ArchiveLock(data_dir, "dossier sync", wait=30):`` holds the write lock or raises
    ConfigError naming who holds it. ``wait=None`` waits as long as it takes."""

    def __init__(
        self,
        data_dir: Path,
        purpose: str,
        *,
        wait: float | None = 0.0,
        name: str = WRITE_LOCK,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(data_dir) / name
        self.purpose = purpose
        self.wait = wait
        self.on_wait = on_wait
        self._fd: int | None = None

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = None if self.wait is None else time.monotonic() + self.wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    holder = holder_of(self.path)
                    os.close(fd)
                    raise ConfigError(
                        f"the archive is busy: {holder}; wait for it to finish"
                        + (" or stop that daemon" if self.path.name == DAEMON_LOCK else "")
                    ) from None
                if not told and self.on_wait is not None:
                    self.on_wait(f"waiting for the archive: {holder_of(self.path)}")
                    told = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "purpose": self.purpose,
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None


def holder_of(path: Path) -> str:
    """Who holds the lock at ``path``, in words ("dossier daemon (pid 412 on host, since …)")."""
    try:
        info = json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another Dossier process holds it"
    return f"{info.get('purpose', 'another Dossier process')} (pid {info.get('pid')} on {info.get('host')}, " \
           f"since {info.get('since')})"


def command_line() -> str:
    """The running command, for the lock's holder description ("dossier sync --account work")."""
    return " ".join(["dossier", *sys.argv[1:]])[:200]


# --- PostgreSQL: advisory locks that hold for every node -------------------------------------


def _key(name: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of lock ``name``."""
    return int.from_bytes(hashlib.blake2b(f"dossier:{name}".encode(), digest_size=8).digest(), "big", signed=True)


def _application_name(purpose: str) -> str:
    """What pg_stat_activity shows for the lock's connection: the holder, in at most 63 bytes."""
    who = f" (pid {os.getpid()} on {socket.gethostname()})"
    room = 63 - len(who.encode())
    return purpose.encode()[:max(room, 0)].decode("utf-8", "ignore") + who


class DatabaseLock:
    """A PostgreSQL advisory lock named ``name``, held by a connection of its own for as long as
    the holder keeps it (``shared``: with other shared holders). ``wait`` as for
    :class:`ArchiveLock`; ``should_stop`` ends an endless wait."""

    #: Seconds one blocking attempt waits in the server's lock queue before looking at the clock.
    _ATTEMPT = 2.0

    def __init__(self, url: str, name: str, purpose: str, *, shared: bool = False, wait: float | None = 0.0,
                 on_wait: Callable[[str], None] | None = None, hint: str = "",
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        self.url = url
        self.name = name
        self.key = _key(name)
        self.purpose = purpose
        self.shared = shared
        self.wait = wait
        self.on_wait = on_wait
        self.hint = hint
        self.should_stop = should_stop
        self._engine = None
        self._connection = None

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _connect(self):
        from sqlalchemy import create_engine
        from sqlalchemy.exc import OperationalError
        from sqlalchemy.pool import NullPool

        from .db import unusable_database

        self._engine = create_engine(self.url, poolclass=NullPool,
                                     connect_args={"application_name": _application_name(self.purpose)})
        try:
            self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except OperationalError as exc:
            engine, self._engine = self._engine, None
            engine.dispose()
            raise ConfigError(unusable_database(engine, exc)) from exc
        return self._connection

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False (holding nothing) when another holds it."""
        from sqlalchemy import text

        connection = self._connect()
        function = "pg_try_advisory_lock_shared" if self.shared else "pg_try_advisory_lock"
        if connection.scalar(text(f"SELECT {function}(:key)"), {"key": self.key}):
            return True
        self._close()
        return False

    def acquire(self) -> None:
        """Take the lock, waiting in the server's queue (fairly: a writer waiting alone is not
        overtaken by later shared holders) up to ``wait`` seconds. Raises ConfigError naming the
        holder when the time is up."""
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError

        connection = self._connect()
        function = "pg_advisory_lock_shared" if self.shared else "pg_advisory_lock"
        deadline = None if self.wait is None else time.monotonic() + self.wait
        told = False
        try:
            while True:
                left = self._ATTEMPT if deadline is None else min(self._ATTEMPT, deadline - time.monotonic())
                connection.execute(text(f"SET lock_timeout = {max(int(left * 1000), 1)}"))
                try:
                    connection.execute(text(f"SELECT {function}(:key)"), {"key": self.key})
                    break
                except OperationalError as exc:
                    if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                        raise
                if self.should_stop() or (deadline is not None and time.monotonic() >= deadline):
                    raise ConfigError(f"the archive is busy: {self.holder()}; wait for it to finish{self.hint}")
                if not told and self.on_wait is not None:
                    self.on_wait(f"waiting for the archive: {self.holder()}")
                    told = True
            connection.execute(text("SET lock_timeout = 0"))
        except BaseException:
            self._close()
            raise

    def holder(self) -> str:
        """Who holds the lock, in words ("dossier daemon (pid 412 on host), since …")."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                rows = connection.execute(text(
                    "SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a "
                    "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                    "AND l.classid::bigint = :high AND l.objid::bigint = :low AND a.pid <> pg_backend_pid() "
                    "ORDER BY a.backend_start"),
                    {"high": (self.key >> 32) & 0xFFFFFFFF, "low": self.key & 0xFFFFFFFF}).all()
        finally:
            engine.dispose()
        if not rows:
            return "another Dossier process holds it"
        return "; ".join(f"{name or 'another Dossier process'}, since "
                         f"{started.astimezone(timezone.utc).isoformat(timespec='seconds')}" for name, started in rows)

    def release(self) -> None:
        if self._connection is not None:
            from sqlalchemy import text

            try:
                function = "pg_advisory_unlock_shared" if self.shared else "pg_advisory_unlock"
                self._connection.execute(text(f"SELECT {function}(:key)"), {"key": self.key})
            except Exception:  # the server ends the lock with the connection anyway
                pass
        self._close()

    def _close(self) -> None:
        connection, engine, self._connection, self._engine = self._connection, self._engine, None, None
        if connection is not None:
            connection.close()
        if engine is not None:
            engine.dispose()


def uses_database_locks(settings: Settings) -> bool:
    """Whether the archive's locks live in its database (PostgreSQL) rather than in files."""
    return not settings.database_url.startswith("sqlite")


def write_lock(settings: Settings, purpose: str, *, shared: bool = False, wait: float | None = 0.0,
               on_wait: Callable[[str], None] | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> ArchiveLock | DatabaseLock:
    """The archive's write lock for ``purpose``: ``shared`` by imports and syncs on PostgreSQL
    (on SQLite every writer has it alone)."""
    if uses_database_locks(settings):
        from .db import check_url

        url = check_url(settings.database_url, settings.database_source)
        return DatabaseLock(url, "write", purpose, shared=shared, wait=wait, on_wait=on_wait, should_stop=should_stop)
    return ArchiveLock(settings.data_dir, purpose, wait=wait, on_wait=on_wait)


def daemon_lock(settings: Settings, node: str, purpose: str = "dossier daemon") -> ArchiveLock | DatabaseLock:
    """The lock a daemon holds for its whole life: one daemon per data directory (node)."""
    if uses_database_locks(settings):
        return DatabaseLock(settings.database_url, f"daemon:{node}", purpose, hint=" or stop that daemon")
    return ArchiveLock(settings.data_dir, purpose, name=DAEMON_LOCK, wait=0)


@contextmanager
def claim(settings: Settings, name: str, purpose: str) -> Iterator[str | None]:
    """Claim ``name`` (an account's sync pass, the nightly job) for this process if no other
    node holds it: yields None when claimed (released afterwards), else the holder in words.
    On SQLite the write lock already makes every writer the only one: always claimed."""
    if not uses_database_locks(settings):
        yield None
        return
    lock = DatabaseLock(settings.database_url, f"claim:{name}", purpose)
    if not lock.try_acquire():
        yield lock.holder()
        return
    try:
        yield None
    finally:
        lock.release()


def running_daemons(settings: Settings, nodes: list[str]) -> set[str] | None:
    """Of ``nodes``, those whose daemon holds its lock right now (on PostgreSQL the server knows:
    a daemon that died has no session, whatever its last heartbeat said); None on SQLite."""
    if not uses_database_locks(settings):
        return None
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from .db import check_url

    keys = {_key(f"daemon:{node}"): node for node in nodes}
    engine = create_engine(check_url(settings.database_url, settings.database_source), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            held = connection.execute(text(
                "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND objsubid = 1")).scalars().all()
    finally:
        engine.dispose()
    signed = {value - (1 << 64) if value >= 1 << 63 else value for value in held}
    return {node for key, node in keys.items() if key in signed}
