"""The daemon's socket: answering read operations (``config.operations``) for its own archive.

``dossier daemon`` listens on ``DATA_DIR/daemon.sock`` (mode 0600 in the owner's private data
directory; on Linux the peer's uid is checked as well) and answers requests of
:mod:`config.protocol`, one at a time in a thread of its own, from an archive it keeps open:
database engine, search index and its open searcher. What keeps an answer honest:

* only the read operations of :data:`config.operations.OPERATIONS` are answered;
* a request for another data directory, config file or database URL is declined, and so is one
  that fails in any unexpected way: the client then computes the answer itself, so a daemon can
  make a command faster but never change what it prints;
* the archive is opened afresh when the config file changes or a rebuild swaps the index directory.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any

from index import SearchIndexError
from ingest import IngestError
from linker import LinkError

from .archive import Archive, KeptArchive
from .operations import RequestError, run_operation
from .protocol import MAX_REQUEST, VERSION, receive_message, send_message
from .runtime import SOCKET_NAME
from .settings import ConfigError, Settings

log = logging.getLogger("dossier.serve")

#: Longest socket path the kernel takes (sun_path is 108 bytes with its terminating NUL).
_MAX_SOCKET_PATH = 107
#: What the client shows as the command's own one-line error, as it would on its own.
USER_ERRORS = (ConfigError, IngestError, LinkError, SearchIndexError)


def _peer_uid(conn: socket.socket) -> int | None:
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:  # not Linux: the socket's mode and the private directory guard it
        return None
    creds = struct.Struct("3i")
    _pid, uid, _gid = creds.unpack(conn.getsockopt(socket.SOL_SOCKET, option, creds.size))
    return uid


class QueryServer:
    """Answers read operations for one archive on its data directory's socket."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = settings.data_dir / SOCKET_NAME
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._archive = KeptArchive(settings)

    def start(self) -> bool:
        """Listen and answer in a thread of its own; False (logged) when the socket cannot be made."""
        if not hasattr(socket, "AF_UNIX"):
            return False
        if len(os.fsencode(str(self.path))) > _MAX_SOCKET_PATH:
            log.warning("the data directory's path is too long for a socket; commands will answer on their own",
                        extra={"event": "serve_off", "path": str(self.path)})
            return False
        # The caller holds the daemon lock, so a socket left here is a dead daemon's.
        self.path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(self.path))
            os.chmod(self.path, 0o600)
            sock.listen(16)
        except OSError as exc:
            sock.close()
            log.warning("cannot listen on %s (%s); commands will answer on their own", self.path, exc,
                        extra={"event": "serve_off"})
            return False
        sock.settimeout(0.5)  # so that stop() is noticed
        self._socket = sock
        self._thread = threading.Thread(target=self._serve, name="dossier-queries", daemon=True)
        self._thread.start()
        log.info("answering read operations on %s", self.path, extra={"event": "serving", "path": str(self.path)})
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
            self.path.unlink(missing_ok=True)
        self._archive.close()

    def archive(self) -> Archive:
        """The archive, kept between requests (see ``KeptArchive``)."""
        return self._archive.get()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._stop.is_set():
                    log.error("the socket failed (%s); commands will answer on their own", exc,
                              extra={"event": "serve_off"})
                return
            with conn:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10.0)
        try:
            uid = _peer_uid(conn)
            if uid is not None and uid != os.getuid():
                log.warning("refused a request from uid %d", uid, extra={"event": "serve_refused", "uid": uid})
                return
            request = receive_message(conn, MAX_REQUEST)
            started = time.monotonic()
            event, answer = self._respond(request)
            # Logged before it is sent: whoever reads the log after the answer finds it there.
            log.info("%s %s", event, request.get("op"), extra={
                "event": event, "op": request.get("op"), "ms": round((time.monotonic() - started) * 1000, 1)})
            send_message(conn, answer)
        except (OSError, ValueError) as exc:  # a client that went away or sent garbage
            log.warning("could not answer a request: %s", exc, extra={"event": "serve_error"})

    def _is_own(self, archive: Any) -> bool:
        if not isinstance(archive, dict):
            return False
        data_dir, config = archive.get("data_dir"), archive.get("config")
        if not isinstance(data_dir, str) or not isinstance(config, str):
            return False
        own = self.settings
        return (Path(data_dir) == own.data_dir and os.path.realpath(config) == os.path.realpath(own.config_path)
                and archive.get("database_url") == os.environ.get("DOSSIER_DATABASE_URL"))

    def answer(self, request: dict) -> dict:
        """The answer to one request (see :mod:`config.protocol`)."""
        return self._respond(request)[1]

    def _respond(self, request: dict) -> tuple[str, dict]:
        """The answer and what it was, for the log: served, declined or refused."""
        if request.get("v") != VERSION:
            return "refused", {"v": VERSION, "declined": f"protocol version {request.get('v')!r}"}
        if not self._is_own(request.get("archive")):
            return "declined", {"v": VERSION, "declined": "another archive"}
        op = request.get("op")
        try:
            return "served", {"v": VERSION, "result": run_operation(self.archive(), op, request.get("args", {}))}
        except RequestError as exc:
            return "refused", {"v": VERSION, "declined": str(exc)}
        except USER_ERRORS as exc:
            return "served", {"v": VERSION, "error": str(exc)}
        except Exception as exc:  # a database error, a vanished file, a bug: never the client's problem
            # The client computes the answer itself and reports any error as it would on its own.
            log.error("%s failed in the daemon: %s", op, exc, exc_info=True,
                      extra={"event": "serve_error", "op": op})
            return "declined", {"v": VERSION, "declined": "failed"}
