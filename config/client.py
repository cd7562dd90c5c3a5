"""The ``dossier`` entry point: read-only commands go to a running ``dossier daemon`` when one
serves this archive, and run in this process otherwise.

A fresh process spends about a second importing SQLAlchemy, Whoosh and the ORM before it can
search; the daemon has them loaded and its searcher open. So the commands in :data:`SERVED` first
try the daemon's socket in the data directory (``daemon.sock``, mode 0600 in the private data
directory). The daemon parses the command line itself, runs the same click command, and sends
back what it printed and its exit status. Whenever the daemon cannot answer for exactly this
archive (none running, a stale socket, another data directory, config or database, any error of
its own), the command runs here, as it always did. ``DOSSIER_NO_DAEMON=1`` skips the daemon.

This module is on every command's path, so it imports nothing beyond the standard library's
smallest modules (and ``runtime``, which is such a module): no click, no settings.
"""

from __future__ import annotations

import gc
import json
import os
import struct
import sys

from .runtime import SOCKET_NAME, data_dir_from_env, pause_collector

#: Command paths the daemon answers: the read-only ones people run interactively.
SERVED = frozenset({("search",), ("thread",), ("quotes",), ("customers", "show"), ("customers", "list")})
#: Options that take a value and may stand before the command name.
_ROOT_OPTIONS = ("--data-dir", "--config")
#: Bytes of the length prefix before each message; a request or reply is one JSON object.
_HEADER = struct.Struct("!I")
MAX_REQUEST = 1 << 20
#: Seconds to wait for the daemon to accept, and for its answer (then the command runs here).
CONNECT_TIMEOUT = 2.0
ANSWER_TIMEOUT = 120.0


def route(argv: list[str]) -> tuple[tuple[str, ...], str] | None:
    """The served command path in ``argv`` and the data directory it names, or None when the
    command is not one the daemon answers. Only picks the socket to try: the daemon parses
    ``argv`` itself and declines a request for any archive but its own."""
    words: list[str] = []
    data_dir = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _ROOT_OPTIONS:
            if i + 1 >= len(argv):
                return None
            if arg == "--data-dir":
                data_dir = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--data-dir="):
            data_dir = arg.partition("=")[2]
        elif arg.startswith("--config="):
            pass
        elif len(words) < 2 and not arg.startswith("-"):
            words.append(arg)
            if tuple(words) in SERVED:
                break
        elif not words or arg == "--":  # -v, --help or --version before the command; or no command at all
            return None
        i += 1
    command = tuple(words)
    if command not in SERVED:
        return None
    # Only --data-dir/--config may come before the command; anything after it is the daemon's to parse.
    rest = argv[i + 1:]
    for j, arg in enumerate(rest):
        if arg == "--":
            break
        if arg == "--data-dir" and j + 1 < len(rest):
            data_dir = rest[j + 1]
        elif arg.startswith("--data-dir="):
            data_dir = arg.partition("=")[2]
    return command, os.path.abspath(data_dir if data_dir is not None else data_dir_from_env(os.environ))


def _columns() -> int:
    """The terminal width click and rich would use here (``shutil.get_terminal_size``'s rule)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _program_name() -> str:
    """What click calls this program in usage lines: ``dossier``, or ``python -m config.client``."""
    main = sys.modules.get("__main__")
    package = getattr(main, "__package__", None)
    if not package:
        return os.path.basename(sys.argv[0])
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    return f"python -m {package}.{name}" if name != "__main__" else f"python -m {package}"


def _stream_info(stream) -> dict:
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return {"tty": tty, "encoding": getattr(stream, "encoding", None) or "utf-8"}


def _recv_exactly(sock, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            raise ConnectionError("the daemon closed the connection")
        chunks += chunk
    return bytes(chunks)


def send_message(sock, value: dict) -> None:
    data = json.dumps(value, ensure_ascii=False).encode("utf-8")
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive_message(sock, limit: int | None = None) -> dict:
    (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    if limit is not None and size > limit:
        raise ValueError(f"a message of {size} bytes is over the limit of {limit}")
    value = json.loads(_recv_exactly(sock, size).decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("a message must be a JSON object")
    return value


def ask_daemon(argv: list[str]) -> dict | None:
    """The daemon's answer for ``argv`` (``exit``, ``stdout``, ``stderr``), or None when no
    daemon answered for this archive."""
    if os.environ.get("DOSSIER_NO_DAEMON"):
        return None
    routed = route(argv)
    if routed is None:
        return None
    import socket  # only for the commands a daemon may answer

    if not hasattr(socket, "AF_UNIX"):
        return None
    path = os.path.join(routed[1], SOCKET_NAME)
    if not os.path.exists(path):
        return None
    request = {
        "version": 1,
        "argv": argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "program": _program_name(),
        "columns": _columns(),
        "stdout": _stream_info(sys.stdout),
        "stderr": _stream_info(sys.stderr),
    }
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT)
            sock.connect(path)
            sock.settimeout(ANSWER_TIMEOUT)
            send_message(sock, request)
            answer = receive_message(sock)
    except (OSError, ValueError):  # no daemon behind a stale socket, a daemon stopping, a garbled answer
        return None
    if not answer.get("served") or not isinstance(answer.get("exit"), int):
        return None
    return answer


def main() -> None:
    """``dossier``: the daemon's answer when it gives one, else the click CLI in this process."""
    answer = ask_daemon(sys.argv[1:])
    if answer is None:
        pause_collector()
        from .cli import main as cli

        try:
            cli()
        finally:
            # The interpreter's exit runs full garbage collections over every object the command
            # imported or made (SQLAlchemy, Whoosh): about 0.3 s of CPU on this machine, a fifth of
            # a search run here. Frozen objects are left out of them; exit handlers still run.
            gc.freeze()
        return
    _write(sys.stdout, answer.get("stdout", ""))
    _write(sys.stderr, answer.get("stderr", ""))
    sys.exit(answer["exit"])


def _write(stream, text: str) -> None:
    if not text:
        return
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if encoding.lower().replace("-", "") in ("ascii", "usascii", "ansi_x3.41968"):
        encoding = "utf-8"  # as click does for a misconfigured locale
    data = text.encode(encoding, "replace")
    try:
        stream.flush()
        stream.buffer.write(data)
        stream.buffer.flush()
    except BrokenPipeError:  # `dossier search x | head`: stop quietly, as the reader asked
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


if __name__ == "__main__":
    main()
