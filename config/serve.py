"""The daemon's side of ``config.client``: answering read-only commands over a Unix socket.

``dossier daemon`` listens on ``DATA_DIR/daemon.sock`` (mode 0600 in the owner's private data
directory; on Linux the peer's uid is checked as well). A request carries a command line, the
client's working directory, environment and terminal; the answer carries what the command
printed and its exit status. Commands run one at a time in one thread, with the click CLI
itself, so their output is the output the command gives in a process of its own.

What keeps a served command honest:

* only the command paths in ``client.SERVED`` are run, and they may not take the write lock;
* a request for another data directory, config file or database URL is declined
  (:class:`NotServed`), and so is one that fails in any unexpected way: the client then runs the
  command itself, so a daemon can make a command faster but never change what it does;
* the archive (database engine, search index and its open searcher) is kept between requests
  and opened afresh when the config file changes or the index directory is swapped by a rebuild.
"""

from __future__ import annotations

import contextvars
import io
import logging
import os
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .client import MAX_REQUEST, SOCKET_NAME, receive_message, route, send_message
from .settings import Settings, load_settings, locate

if TYPE_CHECKING:
    from .archive import Archive

log = logging.getLogger("dossier.serve")

#: Longest socket path the kernel takes (sun_path is 108 bytes with its terminating NUL).
_MAX_SOCKET_PATH = 107


class NotServed(Exception):
    """The daemon does not answer this request; the client runs the command itself."""


@dataclass
class Served:
    """What a command run for a client needs to know: set in :data:`SERVED` while it runs."""

    server: CommandServer
    env: dict[str, str]
    cwd: str

    def archive(self, data_dir: Path | None, config_path: Path | None, *, write: bool = False) -> Archive:
        """The daemon's archive, when the command names exactly it (as ``load_settings`` would
        resolve the names in the client's directory and environment); else NotServed."""
        if write:
            raise NotServed("a command that writes runs in its own process")
        own = self.server.settings
        wanted, config = locate(data_dir, config_path, environ=self.env, cwd=self.cwd)
        if (wanted != own.data_dir or os.path.realpath(config) != os.path.realpath(own.config_path)
                or self.env.get("DOSSIER_DATABASE_URL") != os.environ.get("DOSSIER_DATABASE_URL")):
            raise NotServed("another archive")
        return self.server.archive()


#: The request being answered, in the thread answering it (None everywhere else).
SERVED: contextvars.ContextVar[Served | None] = contextvars.ContextVar("dossier_served", default=None)

_captures = threading.local()


class _Capture(io.StringIO):
    """What a served command prints; a terminal when the client's stream is one."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty

    @property
    def encoding(self) -> str:  # the client encodes for its own terminal
        return "utf-8"

    @property
    def errors(self) -> str:
        return "strict"


class _Switch:
    """``sys.stdout``/``sys.stderr`` in the daemon: the capture of the request being answered in
    the answering thread, the real stream in every other thread (the scheduler's jobs, logging)."""

    def __init__(self, name: str, real) -> None:
        self._name = name
        self._real = real

    def _target(self):
        return getattr(_captures, self._name, None) or self._real

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return self._target().isatty()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str):
        return getattr(self._target(), name)


def _install_switches() -> None:
    if not isinstance(sys.stdout, _Switch):
        sys.stdout = _Switch("stdout", sys.stdout)
    if not isinstance(sys.stderr, _Switch):
        sys.stderr = _Switch("stderr", sys.stderr)


def _remove_switches() -> None:
    if isinstance(sys.stdout, _Switch):
        sys.stdout = sys.stdout._real
    if isinstance(sys.stderr, _Switch):
        sys.stderr = sys.stderr._real


def _peer_uid(conn: socket.socket) -> int | None:
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:  # not Linux: the socket's mode and the private directory guard it
        return None
    creds = struct.Struct("3i")
    _pid, uid, _gid = creds.unpack(conn.getsockopt(socket.SOL_SOCKET, option, creds.size))
    return uid


def _text(value, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _help_width(columns) -> int:
    """The width click's help formatter picks for a terminal of ``columns`` (``max_width`` 80)."""
    columns = columns if isinstance(columns, int) and columns > 0 else 80
    return max(min(columns, 80) - 2, 50)


class CommandServer:
    """Answers ``client.SERVED`` commands for one archive on its data directory's socket."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = settings.data_dir / SOCKET_NAME
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._archive: Archive | None = None
        self._archive_key: tuple | None = None

    def start(self) -> bool:
        """Listen and answer in a thread of its own; False (logged) when the socket cannot be made."""
        if not hasattr(socket, "AF_UNIX"):
            return False
        if len(os.fsencode(str(self.path))) > _MAX_SOCKET_PATH:
            log.warning("the data directory's path is too long for a socket; commands will start on their own",
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
            log.warning("cannot listen on %s (%s); commands will start on their own", self.path, exc,
                        extra={"event": "serve_off"})
            return False
        sock.settimeout(0.5)  # so that stop() is noticed
        self._socket = sock
        _install_switches()
        self._thread = threading.Thread(target=self._serve, name="dossier-commands", daemon=True)
        self._thread.start()
        log.info("answering read-only commands on %s", self.path, extra={"event": "serving", "path": str(self.path)})
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
            self.path.unlink(missing_ok=True)
        _remove_switches()
        if self._archive is not None:
            self._archive.close()
            self._archive = None

    def archive(self) -> Archive:
        """The archive, kept between requests; opened afresh after the config file changed or a
        rebuild swapped the index directory (a kept searcher would go on reading the old one)."""
        from .archive import Archive

        def stamp(path: Path) -> tuple[int, int] | None:
            try:
                st = path.stat()
            except FileNotFoundError:
                return None
            return st.st_ino, st.st_mtime_ns

        index = stamp(self.settings.index_path)
        key = (stamp(self.settings.config_path), index and index[0])
        if self._archive is None or key != self._archive_key:
            if self._archive is not None:
                self._archive.close()
                self._archive = None
            settings = load_settings(self.settings.data_dir, self.settings.config_path)
            self._archive, self._archive_key = Archive(settings), key
        return self._archive

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._stop.is_set():
                    log.error("the command socket failed (%s); commands will start on their own", exc,
                              extra={"event": "serve_off"})
                return
            with conn:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10.0)
        try:
            uid = _peer_uid(conn)
            if uid is not None and uid != os.getuid():
                log.warning("refused a command from uid %d", uid, extra={"event": "serve_refused", "uid": uid})
                return
            request = receive_message(conn, MAX_REQUEST)
            started = time.monotonic()
            answer = self.answer(request)
            send_message(conn, answer)
        except (OSError, ValueError) as exc:  # a client that went away or sent garbage
            log.warning("could not answer a command: %s", exc, extra={"event": "serve_error"})
            return
        log.info("answered %s", answer.get("command") or "a command", extra={
            "event": "served" if answer["served"] else "declined", "command": answer.get("command"),
            "exit": answer.get("exit"), "ms": round((time.monotonic() - started) * 1000, 1)})

    def answer(self, request: dict) -> dict:
        """Run the request's command; ``{"served": False}`` when the client must run it itself."""
        argv, env = request.get("argv"), request.get("env")
        if (request.get("version") != 1 or not isinstance(argv, list) or not all(isinstance(a, str) for a in argv)
                or not isinstance(env, dict)):
            return {"served": False}
        routed = route(argv)
        if routed is None:
            return {"served": False}
        command = " ".join(routed[0])
        streams = {name: request.get(name) if isinstance(request.get(name), dict) else {}
                   for name in ("stdout", "stderr")}
        columns = request.get("columns")
        served = Served(self, {str(k): _text(v) for k, v in env.items()}, _text(request.get("cwd"), "/"))
        out, err = _Capture(bool(streams["stdout"].get("tty"))), _Capture(bool(streams["stderr"].get("tty")))
        from .cli import main

        token = SERVED.set(served)
        _captures.stdout, _captures.stderr = out, err
        try:
            main.main(args=argv, prog_name=_text(request.get("program"), "dossier"), standalone_mode=True,
                      terminal_width=_help_width(columns))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        except NotServed:
            return {"served": False, "command": command}
        except Exception:
            log.exception("%s failed in the daemon; the client runs it itself", command,
                          extra={"event": "serve_error", "command": command})
            return {"served": False, "command": command}
        finally:
            SERVED.reset(token)
            _captures.stdout = _captures.stderr = None
        return {"served": True, "command": command, "exit": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
