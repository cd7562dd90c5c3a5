"""One writer at a time per data directory: an advisory file lock that names its holder.

Commands that write (import, sync, reindex, relink, customer edits) and every daemon job take
the *write* lock; a running daemon also holds the *daemon* lock for its whole life, so a
second daemon on the same archive refuses to start. Locks are ``flock`` locks: the kernel
drops them when a process dies, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from .settings import ConfigError

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
