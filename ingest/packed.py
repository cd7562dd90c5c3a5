"""Compressed exports read as they stream: ``.mbox.gz`` (any gzip file), ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``.

Takeout, many web mail exports and colleagues' hand-offs arrive packed. Each file inside is a
:class:`Member`: its path in the archive and its lines, read from the standard library's
``gzip``, ``zipfile`` and ``tarfile`` one buffer at a time (an mbox of gigabytes is never held
whole). Against decompression bombs, as for attachments (``ingest.extract``): a whole export may
inflate to at most :data:`MAX_RATIO` times its packed size (or :data:`MIN_BUDGET`, if more); past
that, reading stops with a reason. An archive cut short (a download that stopped) yields what it
holds; :attr:`Member.problem` / :func:`packed_problem` say where it stopped.
"""

from __future__ import annotations

import gzip
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

__all__ = ["MAX_RATIO", "MIN_BUDGET", "Member", "is_packed", "iter_members"]

#: A packed export inflates to at most this many times its size (mail text packs 3-10 times,
#: base64 attachments about 1.3 times; an all-zero bomb a thousand times) …
MAX_RATIO = 100
#: … or this much, whichever is more.
MIN_BUDGET = 64 * 1024 * 1024
_GZIP, _ZIP, _EMPTY_ZIP = b"\x1f\x8b", b"PK\x03\x04", b"PK\x05\x06"
_READ_ERRORS = (EOFError, OSError, zlib.error, tarfile.TarError, zipfile.BadZipFile, ValueError)


def is_packed(head: bytes) -> bool:
    """True when a file starting with ``head`` is gzip or zip (a plain tar is told by ``tarfile``)."""
    return head.startswith((_GZIP, _ZIP, _EMPTY_ZIP))


@dataclass
class _Budget:
    left: int
    problem: str = ""


@dataclass
class Member:
    """One file in a packed export: its path inside (``/``-separated) and its lines, read once."""

    name: str
    _stream: BinaryIO = field(repr=False)
    _budget: _Budget = field(repr=False)

    def lines(self) -> Iterator[bytes]:
        """The member's lines; they stop early (with :attr:`problem` set) where the archive is cut
        short or damaged, or where it inflates past its budget."""
        try:
            while True:
                line = self._stream.readline(1024 * 1024)
                if not line:
                    return
                self._budget.left -= len(line)
                if self._budget.left < 0:
                    self._budget.problem = (f"{self.name} inflates to more than {MAX_RATIO} times the archive's "
                                            "size (a decompression bomb?); reading stopped there")
                    return
                yield line
        except _READ_ERRORS as exc:
            self._budget.problem = (f"the archive is cut short or damaged in {self.name} ({_reason(exc)}); "
                                    "what came before was imported")

    def read(self) -> bytes:
        return b"".join(self.lines())

    @property
    def problem(self) -> str:
        return self._budget.problem


def _reason(exc: BaseException) -> str:
    return " ".join((str(exc) or type(exc).__name__).split())[:200]


def iter_members(path: Path, report: list[str]) -> Iterator[Member]:
    """Every file in the packed export at ``path`` (a gzip file is one member: its name less
    ``.gz``), zip members in name order, tar members in archive order (a tar.gz is read once,
    front to back). What stopped the reading, if anything, is appended to ``report``.

    Raises OSError when the file cannot be opened.
    """
    budget = _Budget(max(MIN_BUDGET, MAX_RATIO * path.stat().st_size))
    with path.open("rb") as raw:
        head = raw.read(4)
        raw.seek(0)
        try:
            if head.startswith((_ZIP, _EMPTY_ZIP)):
                yield from _zip_members(raw, budget)
            elif _is_tar(path):
                yield from _tar_members(path, budget)
            else:
                name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
                with gzip.GzipFile(fileobj=raw) as stream:
                    yield Member(name, stream, budget)
        except _READ_ERRORS as exc:
            budget.problem = budget.problem or (
                f"cannot read the archive ({_reason(exc)}); it is cut short or damaged: copy or download it "
                "again, or unpack what can be unpacked and import that")
    if budget.problem:
        report.append(budget.problem)


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except _READ_ERRORS:
        return path.name.lower().endswith((".tar", ".tar.gz", ".tgz"))


def _zip_members(raw: BinaryIO, budget: _Budget) -> Iterator[Member]:
    with zipfile.ZipFile(raw) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir() or budget.problem:
                continue
            if info.file_size > budget.left:
                budget.problem = (f"{info.filename} would inflate to {info.file_size} bytes, more than "
                                  f"{MAX_RATIO} times the archive (a decompression bomb?); reading stopped there")
                return
            with archive.open(info) as stream:
                yield Member(info.filename, stream, budget)


def _tar_members(path: Path, budget: _Budget) -> Iterator[Member]:
    # "r|*": one pass front to back; seeking back in a tar.gz would inflate it again from the start.
    with tarfile.open(path, "r|*") as archive:
        for info in archive:
            if budget.problem:
                return
            if not info.isfile():
                continue  # folders, links and devices are never followed or made
            stream = archive.extractfile(info)
            if stream is not None:
                yield Member(info.name, stream, budget)
