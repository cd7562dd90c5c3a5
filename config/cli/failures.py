"""Failures of the machine rather than of the archive, as one line: a full disk, a closed pipe.

Whichever part of a command meets them (the raw store, the database, the search index or its
writer process, the output), they look alike to the person who has to act, so they are found
anywhere in an exception's chain of causes and told the same way each time.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

#: SQLite's result code for "database or disk is full".
_SQLITE_FULL = 13
#: How engines written in other languages (tantivy's Rust) word the error they were given.
_FULL_TEXTS = ("No space left on device", "os error 28", "Disk quota exceeded", "os error 122")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_broken_pipe(exc: BaseException) -> bool:
    """True when the command's output went to a pipe whose reader has gone (``| head``)."""
    return any(isinstance(e, BrokenPipeError) or (isinstance(e, OSError) and e.errno == errno.EPIPE)
               for e in _chain(exc))


def full_disk_path(exc: BaseException) -> str | None:
    """The file being written when ``exc`` (or one of its causes) says a disk is full: its name
    when known, else "" ; None when the disk is not full."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return os.fsdecode(e.filename) if e.filename else ""
        if getattr(e, "sqlite_errorcode", None) == _SQLITE_FULL:
            return ""
        if any(text in str(e) for text in _FULL_TEXTS):
            return ""
    return None


def _mount_point(path: Path) -> Path:
    path = path.resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} bytes"  # pragma: no cover


def full_disk_line(data_dir: Path, written: str) -> str:
    """One line naming the disk and the path for a command stopped by a full disk."""
    where = Path(written) if written else data_dir
    if written and str(Path(written).resolve()).startswith(str(data_dir.resolve()) + os.sep):
        where = data_dir  # the same line wherever in the archive the space ran out
    probe = where if where.exists() else where.parent
    try:
        mount = _mount_point(probe)
        free = f", {_size(shutil.disk_usage(mount).free)} free"
    except OSError:
        mount, free = probe, ""
    return (f"the disk at {mount} is full ({where}{free}); free some space there and run the command again "
            "(what was stored before is kept and the next run resumes where this one stopped)")


def leave_quietly() -> None:
    """End a command whose reader closed the pipe: no message (``dossier … | head`` is how people
    read a long list), and the status a shell gives any writer stopped by SIGPIPE (128 + 13)."""
    try:
        # Nothing more can reach the reader; the interpreter's own flush at exit must not complain.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test runner's capture)
        pass
    raise SystemExit(141)
