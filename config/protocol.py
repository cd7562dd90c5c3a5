"""The daemon's socket protocol, version 1, and the client's side of it (standard library only).

A request is one JSON object ``{"v": 1, "op": NAME, "args": {...}, "archive": {...}}``: a read
operation of :mod:`config.operations` with its JSON arguments, and the archive the client means
(data directory, config file, ``$DOSSIER_DATABASE_URL``). The answer is one JSON object:
``{"v": 1, "result": ...}`` (the operation's JSON), ``{"v": 1, "error": MESSAGE}`` (a library
error, shown as the command's own), or ``{"v": 1, "declined": REASON}`` (another archive, an
operation it does not answer, a failure of its own: the client then computes the answer itself).
Each object travels as 4 bytes of length (network order) and UTF-8 JSON.
"""

from __future__ import annotations

import json
import os
import struct
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .runtime import SOCKET_NAME

if TYPE_CHECKING:
    import socket

VERSION = 1
_HEADER = struct.Struct("!I")
#: The largest request the daemon reads.
MAX_REQUEST = 1 << 20
#: Seconds to wait for the daemon to accept, and for its answer (then the command runs here).
CONNECT_TIMEOUT = 2.0
ANSWER_TIMEOUT = 120.0


def parse_day(text: str) -> datetime:
    """A date or time in ISO 8601 (``2025-03-01``, ``2025-03-01T08:00+08:00``) as naive UTC, the
    way every time is stored. Raises ValueError."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        chunks += chunk
    return bytes(chunks)


def send_message(sock: socket.socket, value: dict) -> None:
    data = json.dumps(value, ensure_ascii=False).encode("utf-8")
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive_message(sock: socket.socket, limit: int | None = None) -> dict:
    """The next message. Raises ValueError for one over ``limit`` bytes or not a JSON object,
    OSError when the connection fails."""
    (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    if limit is not None and size > limit:
        raise ValueError(f"a message of {size} bytes is over the limit of {limit}")
    value = json.loads(_recv_exactly(sock, size).decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("a message must be a JSON object")
    return value


def archive_identity(data_dir: str, config_path: str) -> dict[str, Any]:
    """What names an archive in a request: its data directory and config file (absolute) and the
    database URL the environment sets, if any."""
    return {"data_dir": os.path.abspath(data_dir), "config": os.path.abspath(config_path),
            "database_url": os.environ.get("DOSSIER_DATABASE_URL")}


def ask_daemon(data_dir: str, config_path: str, op: str, args: dict[str, Any]) -> dict | None:
    """The answer (``result`` or ``error``) of a ``dossier daemon`` serving the archive in the
    absolute ``data_dir`` with ``config_path`` to ``op``; None when none answers for exactly it
    (no daemon, a stale socket, another archive, ``$DOSSIER_NO_DAEMON`` set)."""
    if os.environ.get("DOSSIER_NO_DAEMON"):
        return None
    path = os.path.join(data_dir, SOCKET_NAME)
    if not os.path.exists(path):
        return None
    import socket  # only when a daemon may be there: a command on its own does without

    if not hasattr(socket, "AF_UNIX"):
        return None
    request = {"v": VERSION, "op": op, "args": args, "archive": archive_identity(data_dir, config_path)}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT)
            sock.connect(path)
            sock.settimeout(ANSWER_TIMEOUT)
            send_message(sock, request)
            answer = receive_message(sock)
    except (OSError, ValueError):  # no daemon behind a stale socket, a daemon stopping, a garbled answer
        return None
    if answer.get("v") != VERSION or not ("result" in answer or isinstance(answer.get("error"), str)):
        return None
    return answer
