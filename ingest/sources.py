"""Mail sources on disk: tell what a path holds and stream its messages as raw items.

A path is one of four kinds (``detect_kind``):

- ``mbox``: one file holding several messages, split on envelope lines (``ingest.mbox``);
- ``maildir``: a directory with ``cur/`` and ``new/`` (``tmp/`` is read too, a message can
  sit there), Maildir++ subfolders ``.Sent``, ``.Customers.Acme`` and plain nested folders;
- ``tree``: any other directory; every file in it is a message (or an mbox, or a Maildir);
- ``file``: one message in one file.

Folder names: a Maildir's own messages are "INBOX" when it is the path given, otherwise the
Maildir's path relative to the tree; ``.Customers.Acme`` becomes "Customers/Acme"; ``cur``,
``new`` and ``tmp`` never appear in names. Files directly in a tree's root take the root's own
name, files in subfolders the subfolder's relative path ("inbox/junk"); an mbox takes its
relative path without ``.mbox``/``.mbx``. A single message file has folder "".

Every file is yielded, even an empty one or one that is no message at all (an Outlook ``.msg``,
a text file): the parser marks it failed and the import reports it. Only these are skipped:

- Maildir, Dovecot, Courier and Finder metadata, anywhere: ``dovecot*``, ``courierimap*``,
  ``.uidvalidity``, ``maildirfolder``, ``subscriptions``, ``.DS_Store``, and the placeholders
  ``.gitkeep`` / ``.keep`` that keep empty folders in version control;
- names starting with a dot inside a Maildir's ``cur/``, ``new/`` and ``tmp/`` (the Maildir
  convention: such files are not messages);
- Thunderbird summary files (``*.msf``), which index an mbox beside them and hold no mail;
- symbolic links to directories, which are never followed (they can loop or leave the tree);
- the blank line that ends each message in an mbox, and whitespace before its first envelope.

An empty ``.mbox``/``.mbx`` file is an empty mailbox and yields nothing.

Files that cannot be read once iteration has started (removed, permissions changed, a FIFO)
go to the ``on_error(origin, reason)`` callback of ``iter_source``; the default raises
``SourceError``, an importer passes its own to record the file and carry on.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import SourceError
from .imap import decode_folder
from .mbox import MboxMessage, gmail_labels, split_mbox, starts_with_envelope
from .message import RawItem

log = logging.getLogger(__name__)

#: ``on_error(origin, reason)``: called for a file or folder that could not be read.
ErrorHandler = Callable[[str, str], None]

_MBOX_SUFFIXES = (".mbox", ".mbx")
_MAILDIR_PARTS = ("cur", "new", "tmp")

_SKIP_NAMES = frozenset({".uidvalidity", "maildirfolder", "subscriptions", ".DS_Store", ".gitkeep", ".keep"})
_SKIP_PREFIXES = ("dovecot", "courierimap")
_SKIP_SUFFIXES = (".msf",)

_DIGITS = re.compile(r"([0-9]+)")


def detect_kind(path: Path) -> str:
    """Say what ``path`` holds: "mbox", "maildir", "tree" or "file".

    A directory with ``cur/`` and ``new/`` is a Maildir (so is one with only one of them and
    no other plain subfolder, as copies that drop empty folders leave); any other directory
    is a tree. A file
    is an mbox when it is named ``*.mbox``/``*.mbx`` or starts with an envelope line and holds
    more than one message; ``*.eml`` and everything else is one message.

    Raises SourceError when the path does not exist, cannot be read, is not a regular file
    or directory, or is a directory without any file in it.
    """
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            files, dirs = _scan(path)
            if not files and not _has_file_below(dirs):
                raise SourceError(
                    f"nothing to import in {path}: the folder holds no files; "
                    "point at a mailbox file, a Maildir or a folder of messages"
                )
            return "maildir" if _is_maildir(dirs) else "tree"
        if not stat.S_ISREG(mode):
            raise SourceError(
                f"cannot read {path}: not a regular file or folder; "
                "point at a mailbox file, a Maildir or a folder of messages"
            )
        with path.open("rb") as stream:
            return "mbox" if _is_mbox_file(path, stream) else "file"
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {_describe(exc)}") from exc


def iter_source(path: Path, on_error: ErrorHandler | None = None) -> Iterator[RawItem]:
    """Stream every message under ``path``, in sorted (numeric-aware) name order.

    The path is checked before this returns; messages are then read one at a time. A file
    or folder that cannot be read during iteration yields nothing and is passed to
    ``on_error(origin, reason)``; the default handler raises SourceError.

    Raises SourceError for the path itself as ``detect_kind`` does, and from the default
    ``on_error`` handler.
    """
    kind = detect_kind(path)
    handler = on_error or _raise_source_error
    return _iter_kind(path, kind, handler)


def count_messages(path: Path) -> int | None:
    """How many items ``iter_source(path)`` will yield, for a progress bar.

    Counting opens every file but reads only mbox files (and files starting with an envelope
    line) through, so it costs far less than the import. Files that cannot be read count as
    none. None is for sources whose total cannot be had cheaply; no local kind needs it yet.

    Raises SourceError for the path itself as ``detect_kind`` does.
    """
    kind = detect_kind(path)
    if kind == "file":
        return 1
    if kind == "mbox":
        try:
            return _count_file(path)
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {_describe(exc)}") from exc
    return sum(_count_file_or_none(file) for file, _, _ in _walk_root(path, _ignore_error))


def _iter_kind(path: Path, kind: str, on_error: ErrorHandler) -> Iterator[RawItem]:
    if kind in ("file", "mbox"):
        yield from _read_file(path, "", _folder_name(_strip_mbox_suffix(path.name)), on_error)
        return
    for file, folder, mbox_folder in _walk_root(path, on_error):
        yield from _read_file(file, folder, mbox_folder, on_error)


def _read_file(
    path: Path, folder: str, mbox_folder: str, on_error: ErrorHandler
) -> Iterator[RawItem]:
    """Yield the one message in ``path``, or each message when it is an mbox."""
    origin = str(path)
    try:
        # A FIFO or device would block or never end: only regular files are opened.
        if not stat.S_ISREG(path.stat().st_mode):
            on_error(origin, "not a regular file (a pipe, socket or device); it was not imported")
            return
        with path.open("rb") as stream:
            if _has_mbox_suffix(path.name):
                messages: Iterable[MboxMessage] = split_mbox(stream)
            elif _is_eml(path.name) or not starts_with_envelope(stream):
                yield RawItem(stream.read(), folder, origin)
                return
            else:
                split = split_mbox(stream)
                first, second = next(split, None), next(split, None)
                if first is None or second is None:
                    # One message behind an envelope line: keep the file byte-exact.
                    stream.seek(0)
                    yield RawItem(stream.read(), folder, origin)
                    return
                messages = itertools.chain((first, second), split)
            for number, message in enumerate(messages, start=1):
                yield _mbox_item(message, mbox_folder, f"{origin}#{number}")
    except OSError as exc:
        on_error(origin, _describe(exc))


def _mbox_item(message: MboxMessage, folder: str, origin: str) -> RawItem:
    """An mbox message as a raw item: Gmail's labels (Takeout) kept as the copy's labels, and a
    note when header blocks of what look like further messages ran into it."""
    notes: tuple[str, ...] = ()
    if message.stray_headers:
        notes = (f"{message.stray_headers} more header block(s) with a Message-ID follow its own: messages may "
                 "have run together where the mbox has no envelope line Dossier recognises, so this file's "
                 "count may be short; check it with another mail program",)
    return RawItem(message.data, folder, origin, labels=gmail_labels(message.data), notes=notes)


def _is_mbox_file(path: Path, stream: BinaryIO) -> bool:
    if _has_mbox_suffix(path.name):
        return True
    if _is_eml(path.name) or not starts_with_envelope(stream):
        return False
    return next(itertools.islice(split_mbox(stream), 1, None), None) is not None


def _count_file(path: Path) -> int:
    with path.open("rb") as stream:
        if _has_mbox_suffix(path.name):
            return sum(1 for _ in split_mbox(stream))
        if _is_eml(path.name) or not starts_with_envelope(stream):
            return 1
        return max(1, sum(1 for _ in split_mbox(stream)))


def _count_file_or_none(path: Path) -> int:
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return 0
        return _count_file(path)
    except OSError:
        return 0


def _walk_root(root: Path, on_error: ErrorHandler) -> Iterator[tuple[Path, str, str]]:
    own_name = root.name or root.resolve().name
    try:
        is_maildir = _is_maildir(_scan(root)[1])
    except OSError as exc:
        on_error(str(root), _describe(exc))
        return
    yield from _walk(root, "INBOX" if is_maildir else _folder_name(own_name), "", on_error)


def _walk(
    directory: Path, folder: str, prefix: str, on_error: ErrorHandler, *, is_maildir_part: bool = False
) -> Iterator[tuple[Path, str, str]]:
    """Yield (file, folder, folder if the file is an mbox) for every file under ``directory``.

    ``folder`` names the files directly in ``directory`` (or in its cur/new/tmp when it is
    a Maildir); ``prefix`` starts the names of its subfolders.
    """
    try:
        files, dirs = _scan(directory)
    except OSError as exc:
        on_error(str(directory), _describe(exc))
        return
    subfolders = dirs
    is_maildir = _is_maildir(dirs)
    if is_maildir:
        # cur, new and tmp hold the Maildir's own messages under its own name.
        for part in (d for d in dirs if d.name in _MAILDIR_PARTS):
            yield from _walk(part, folder, prefix, on_error, is_maildir_part=True)
        subfolders = [d for d in dirs if d.name not in _MAILDIR_PARTS]
    if is_maildir_part:
        # The Maildir convention: names starting with a dot in cur/new/tmp are not messages.
        files = [f for f in files if not f.name.startswith(".")]
    for file in files:
        yield file, folder, _folder_name(prefix + _strip_mbox_suffix(file.name))
    for sub in subfolders:
        if is_maildir and sub.name.startswith(".") and len(sub.name) > 1:
            name = prefix + _maildirpp_name(sub.name)
        else:
            name = prefix + _folder_name(sub.name)
        yield from _walk(sub, name, name + "/", on_error)


def _scan(directory: Path) -> tuple[list[Path], list[Path]]:
    """The files and the subdirectories of ``directory``, metadata left out, sorted."""
    files: list[Path] = []
    dirs: list[Path] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if _is_metadata(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                dirs.append(directory / entry.name)
            elif entry.is_symlink() and entry.is_dir():
                log.info("not following directory symlink %s", entry.path)
            else:
                files.append(directory / entry.name)
    files.sort(key=lambda p: _natural_key(p.name))
    dirs.sort(key=lambda p: _natural_key(p.name))
    return files, dirs


def _has_file_below(dirs: list[Path]) -> bool:
    pending = list(dirs)
    while pending:
        try:
            files, subdirs = _scan(pending.pop())
        except OSError:
            # Something is there that the walk will report; the path is not empty.
            return True
        if files:
            return True
        pending.extend(subdirs)
    return False


def _is_maildir(dirs: list[Path]) -> bool:
    names = {d.name for d in dirs}
    if "cur" in names and "new" in names:
        return True
    # Copies (git, zip, rsync) often lose an empty new/ or cur/; accept one of them when the
    # directory holds nothing else that a plain folder tree would.
    if "cur" in names or "new" in names:
        return all(name in _MAILDIR_PARTS or name.startswith(".") for name in names)
    return False


def _is_metadata(name: str) -> bool:
    return (
        name in _SKIP_NAMES
        or name.startswith(_SKIP_PREFIXES)
        or name.lower().endswith(_SKIP_SUFFIXES)
    )


def _has_mbox_suffix(name: str) -> bool:
    return name.lower().endswith(_MBOX_SUFFIXES)


def _is_eml(name: str) -> bool:
    return name.lower().endswith(".eml")


def _strip_mbox_suffix(name: str) -> str:
    if _has_mbox_suffix(name):
        return name.rsplit(".", 1)[0]
    return name


def _maildirpp_name(name: str) -> str:
    """``.Customers.Acme`` -> "Customers/Acme", IMAP modified UTF-7 decoded."""
    # Dovecot and Courier store non-ASCII folder names as IMAP modified UTF-7 (RFC 3501 5.1.3).
    parts = [decode_folder(part) for part in name[1:].split(".") if part]
    return _folder_name("/".join(parts)) if parts else _folder_name(name)


def _folder_name(name: str) -> str:
    # File names that are not valid UTF-8 arrive with surrogate escapes, which no database
    # column or report can store.
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _natural_key(name: str) -> tuple[tuple[str | int, ...], str]:
    parts = _DIGITS.split(name)
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts)), name


def _describe(exc: OSError) -> str:
    """One readable reason with what to do, for a SourceError or an ``on_error`` call."""
    if exc.errno == errno.ENOENT:
        return "no such file or folder; check the path"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; check the file's permissions"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links; fix or remove the link"
    reason = (exc.strerror or str(exc)).lower()
    return f"{reason}; check the disk and try again"


def _raise_source_error(origin: str, reason: str) -> None:
    raise SourceError(f"cannot read {origin}: {reason}")


def _ignore_error(origin: str, reason: str) -> None:
    return None
