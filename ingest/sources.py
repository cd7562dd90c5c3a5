"""Mail sources on disk: tell what a path holds and stream its messages as raw items.

A path is one of five kinds (``detect_kind``):

- ``mbox``: one file holding several messages, split on envelope lines (``ingest.mbox``);
- ``packed``: a compressed export (gzip, zip, tar, tar.gz; see ``ingest.packed``), read as it
  streams and named as a folder tree whose root is the archive (also inside a tree);
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
import io
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
from .packed import is_packed, iter_members

log = logging.getLogger(__name__)

#: ``on_error(origin, reason)``: called for a file or folder that could not be read.
ErrorHandler = Callable[[str, str], None]

_MBOX_SUFFIXES = (".mbox", ".mbx")
_MAILDIR_PARTS = ("cur", "new", "tmp")

_SKIP_NAMES = frozenset({".uidvalidity", "maildirfolder", "subscriptions", ".DS_Store", ".gitkeep", ".keep"})
_SKIP_PREFIXES = ("dovecot", "courierimap")
_SKIP_SUFFIXES = (".msf",)

_DIGITS = re.compile(r"([0-9]+)")
_PACKED_SUFFIX = re.compile(r"(\.(tar\.gz|tgz|tar|zip|gz))$", re.IGNORECASE)


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
                    f"nothing to import in {display_path(path)}: the folder holds no files; "
                    "point at a mailbox file, a Maildir or a folder of messages"
                )
            return "maildir" if _is_maildir(dirs) else "tree"
        if not stat.S_ISREG(mode):
            raise SourceError(
                f"cannot read {display_path(path)}: not a regular file or folder; "
                "point at a mailbox file, a Maildir or a folder of messages"
            )
        with path.open("rb") as stream:
            if _is_packed(path, stream):
                return "packed"
            return "mbox" if _is_mbox_file(path, stream) else "file"
    except OSError as exc:
        raise SourceError(f"cannot read {display_path(path)}: {_describe(exc)}") from exc


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
    if kind == "packed":
        return None  # known only once it is unpacked
    if kind == "mbox":
        try:
            return _count_file(path)
        except OSError as exc:
            raise SourceError(f"cannot read {display_path(path)}: {_describe(exc)}") from exc
    return sum(_count_file_or_none(file) for file, _, _ in _walk_root(path, _ignore_error))


def _iter_kind(path: Path, kind: str, on_error: ErrorHandler) -> Iterator[RawItem]:
    if kind in ("file", "mbox", "packed"):
        yield from _read_file(path, "", _folder_name(_strip_mbox_suffix(path.name)), on_error)
        return
    for file, folder, mbox_folder in _walk_root(path, on_error):
        yield from _read_file(file, folder, mbox_folder, on_error)


def _read_file(
    path: Path, folder: str, mbox_folder: str, on_error: ErrorHandler
) -> Iterator[RawItem]:
    """Yield the one message in ``path``, or each message when it is an mbox."""
    origin = _display(str(path))
    try:
        # A FIFO or device would block or never end: only regular files are opened.
        if not stat.S_ISREG(path.stat().st_mode):
            on_error(origin, "not a regular file (a pipe, socket or device); it was not imported")
            return
        with path.open("rb") as stream:
            if _is_packed(path, stream):
                yield from _read_packed(path, origin, on_error)
                return
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


def _is_packed(path: Path, stream: BinaryIO) -> bool:
    head = stream.read(4)
    stream.seek(0)
    return is_packed(head) or path.name.lower().endswith(".tar")


def _read_packed(path: Path, origin: str, on_error: ErrorHandler) -> Iterator[RawItem]:
    """Each message in a compressed export (see ``ingest.packed``), named as in a folder tree
    whose root is the archive: its Maildirs, mbox files and folders of messages."""
    stem = _folder_name(_PACKED_SUFFIX.sub("", path.name) or path.name)
    problems: list[str] = []
    for member in iter_members(path, problems):
        parts = [part for part in member.name.split("/") if part not in ("", ".")]
        if not parts or parts[0] == "__MACOSX" or _is_metadata(parts[-1]) or ".." in parts:
            continue  # Finder's resource forks; a name climbing out of the archive is no message of it
        *dirs, base = parts
        if dirs and dirs[-1] in _MAILDIR_PARTS:
            if base.startswith("."):
                continue
            dirs = dirs[:-1]
        names = [_maildirpp_name(d) if d.startswith(".") and len(d) > 1 else _folder_name(d) for d in dirs]
        folder = "/".join(names) or stem
        where = f"{origin}#{_display(member.name)}"
        if _has_mbox_suffix(base):
            messages, is_mbox = split_mbox(member.lines()), True
        else:
            data = member.read()
            if member.problem:
                continue  # a file cut short (or a bomb's output) is no message; the problem is reported
            split = [] if _is_eml(base) or not data.startswith(b"From ") else list(split_mbox(io.BytesIO(data)))
            is_mbox = len(split) > 1
            if not is_mbox:  # one message behind an envelope line stays byte-exact
                yield RawItem(data, folder, where)
                continue
            messages = split
        folder = "/".join([*names, _folder_name(_strip_mbox_suffix(base))])
        for number, message in enumerate(messages, start=1):
            yield _mbox_item(message, folder, f"{where}#{number}")
    for problem in problems:
        on_error(origin, problem)


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
        on_error(_display(str(root)), _describe(exc))
        return
    yield from _walk(root, "INBOX" if is_maildir else _folder_name(own_name), "", on_error)


def _walk(directory: Path, folder: str, prefix: str, on_error: ErrorHandler) -> Iterator[tuple[Path, str, str]]:
    """Yield (file, folder, folder if the file is an mbox) for every file under ``directory``.

    ``folder`` names the files directly in ``directory`` (or in its cur/new/tmp when it is
    a Maildir); ``prefix`` starts the names of its subfolders. Depth first, in sorted order,
    without recursion: an export 1,100 folders deep must not exhaust Python's stack.
    """
    # A stack of what is still to do, the next at its end: a file to yield, or a folder to read
    # as (directory, folder, prefix, is_maildir_part).
    pending: list[tuple[Path, str, str] | tuple[Path, str, str, bool]] = [(directory, folder, prefix, False)]
    while pending:
        task = pending.pop()
        if len(task) == 3:
            yield task
            continue
        here, name, start, is_maildir_part = task
        try:
            files, dirs = _scan(here)
        except OSError as exc:
            on_error(_display(str(here)), _describe(exc))
            continue
        subfolders = dirs
        todo: list = []
        is_maildir = _is_maildir(dirs)
        if is_maildir:
            # cur, new and tmp hold the Maildir's own messages under its own name.
            todo += [(part, name, start, True) for part in dirs if part.name in _MAILDIR_PARTS]
            subfolders = [d for d in dirs if d.name not in _MAILDIR_PARTS]
        if is_maildir_part:
            # The Maildir convention: names starting with a dot in cur/new/tmp are not messages.
            files = [f for f in files if not f.name.startswith(".")]
        todo += [(file, name, _folder_name(start + _strip_mbox_suffix(file.name))) for file in files]
        for sub in subfolders:
            if is_maildir and sub.name.startswith(".") and len(sub.name) > 1:
                sub_name = start + _maildirpp_name(sub.name)
            else:
                sub_name = start + _folder_name(sub.name)
            todo.append((sub, sub_name, sub_name + "/", False))
        pending += reversed(todo)


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
    return _display(name)


def _display(name: str) -> str:
    """A file name as text for rows and reports. Names are bytes: one that is not UTF-8 (GBK
    names from Chinese Windows) arrives with surrogate escapes, which no database column or
    report can hold, so its bad bytes are shown as U+FFFD. Files are always opened by their
    ``Path``, which keeps the exact bytes (``os.fsencode`` gives them back)."""
    return os.fsencode(name).decode("utf-8", "replace")


def display_path(path: Path | str) -> str:
    """``path`` as text for a message or a report line (see :func:`_display`)."""
    return _display(str(path))


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
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is longer than the system allows; move the folder higher up and import it from there"
    reason = (exc.strerror or str(exc)).lower()
    return f"{reason}; check the disk and try again"


def _raise_source_error(origin: str, reason: str) -> None:
    raise SourceError(f"cannot read {origin}: {reason}")


def _ignore_error(origin: str, reason: str) -> None:
    return None
