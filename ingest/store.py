"""The raw message store: every message's exact bytes, content-addressed by SHA-256, gzip-compressed,
optionally encrypted.

Layout: ``<root>/ab/cd/<sha256>.eml.gz`` (``zcat`` reads it), or ``<sha256>.eml.gz.enc`` when a
key is configured: the gzip bytes sealed with AES-256-GCM (``cryptography``'s AEAD), a random
96-bit nonce per blob and the SHA-256 as associated data, so a blob cannot be swapped for another.
The address stays the SHA-256 of the plaintext. A blob is written to a temporary file in
``<root>/tmp`` and renamed into place, so it either exists whole or not at all. Blobs are
written before any database row points at them.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from .errors import RawStoreError

_SUFFIX = ".eml.gz"
_ENCRYPTED_SUFFIX = ".eml.gz.enc"
#: Starts every encrypted blob: format version 1 (AES-256-GCM, 12-byte nonce, then ciphertext+tag).
_MAGIC = b"DOSSIER-AEAD1\n"
_NONCE_BYTES = 12
KEY_BYTES = 32


def hash_bytes(data: bytes) -> str:
    """The SHA-256 hex digest that identifies ``data`` in the store."""
    return hashlib.sha256(data).hexdigest()


#: A blob at least this large and not sealed is compressed into its file piece by piece.
STREAM_FROM = 4 * 1024 * 1024
_PIECE = 1024 * 1024

#: Concurrent fsyncs of one batch's new blobs.
_FSYNC_THREADS = 8


def _fsync_one(name: str) -> None:
    fd = os.open(name, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_all(names: list[str]) -> None:
    if len(names) == 1:
        _fsync_one(names[0])
        return
    with ThreadPoolExecutor(min(_FSYNC_THREADS, len(names))) as pool:
        list(pool.map(_fsync_one, names))  # list() re-raises the first error


def _writer_of(name: str) -> tuple[str, int] | None:
    """The host and pid that wrote the partial file ``name`` ("<sha16>.<host>.<pid>.<random>.part"),
    or None for a name without them (written by an older Dossier)."""
    parts = name.split(".")
    if len(parts) < 5 or not parts[-3].isdigit():
        return None
    return ".".join(parts[1:-3]), int(parts[-3])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@dataclass(frozen=True)
class Encoder:
    """How the store encodes a blob: gzip at ``compresslevel``, then sealed when ``key`` is set.
    Picklable, so worker processes can encode blobs for :meth:`RawStore.put_many`."""

    compresslevel: int = 6
    key: bytes | None = None

    def encode(self, sha256: str, data: bytes) -> bytes:
        """The stored form of ``data`` (whose SHA-256 is ``sha256``)."""
        # mtime=0 keeps the compressed bytes a function of the content alone.
        compressed = gzip.compress(data, compresslevel=self.compresslevel, mtime=0)
        return compressed if self.key is None else _seal_with(_cached_aead(self.key), compressed, sha256.encode())

    def write(self, fh: BinaryIO, sha256: str, data: bytes) -> None:
        """Write the stored form of ``data`` to ``fh``: the bytes :meth:`encode` gives. A large blob
        that is not sealed is compressed piece by piece, never held whole beside the message."""
        if self.key is not None or len(data) < STREAM_FROM:
            fh.write(self.encode(sha256, data))
            return
        # The same settings as gzip.compress(mtime=0): the same bytes, however the input is cut.
        packer = zlib.compressobj(self.compresslevel, zlib.DEFLATED, 31)
        view = memoryview(data)
        for start in range(0, len(view), _PIECE):
            fh.write(packer.compress(view[start:start + _PIECE]))
        fh.write(packer.flush())


class RawStore:
    """Content-addressed, compressed, write-once storage for raw messages.

    With ``key`` (32 bytes), new blobs are encrypted; blobs stored before a key was set stay
    readable as they are.
    """

    def __init__(self, root: Path, *, fsync: bool = True, compresslevel: int = 6, key: bytes | None = None) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.compresslevel = compresslevel
        self._aead = None
        if key is not None:
            if len(key) != KEY_BYTES:
                raise RawStoreError(f"the raw store key must be {KEY_BYTES} bytes, not {len(key)}")
            self._aead = _aead(key)
        self.encoder = Encoder(compresslevel, key)

    @property
    def is_encrypted(self) -> bool:
        """True when new blobs are written encrypted."""
        return self._aead is not None

    def _base(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def path_for(self, sha256: str) -> Path:
        """Where the blob for ``sha256`` lives (or, when it does not exist yet, will be written)."""
        base = self._base(sha256)
        encrypted, plain = base.with_name(base.name + _ENCRYPTED_SUFFIX), base.with_name(base.name + _SUFFIX)
        if encrypted.exists():
            return encrypted
        if plain.exists():
            return plain
        return encrypted if self._aead is not None else plain

    def contains(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def iter_hashes(self) -> Iterator[str]:
        """The SHA-256 of every blob in the store (for ``dossier check``), in no particular order."""
        for path in self.root.glob("??/??/*"):
            name = path.name
            for suffix in (_SUFFIX, _ENCRYPTED_SUFFIX):
                if name.endswith(suffix) and len(name) == 64 + len(suffix):
                    yield name[: -len(suffix)]

    def remove_partial(self, older_than: float = 0.0) -> int:
        """Delete the partial blobs killed writers left; return how many. With ``older_than``
        (other writers, on other machines too, share the store), only those of writers known dead
        (a process of this machine that is gone) or older than that many seconds; with 0, every
        one (for the only writer of the store: another writer's file in flight would vanish)."""
        removed = 0
        limit = time.time() - older_than
        host = socket.gethostname()
        for path in self.temp_files():
            if older_than:
                writer = _writer_of(path.name)
                try:
                    recent = path.stat().st_mtime > limit
                except FileNotFoundError:
                    continue
                dead = writer is not None and writer[0] == host and writer[1] != os.getpid() and not _alive(writer[1])
                if recent and not dead:
                    continue
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def temp_files(self) -> list[Path]:
        """Partial blobs a killed writer left in ``<root>/tmp`` (never referenced by a row)."""
        tmp_dir = self.root / "tmp"
        return sorted(tmp_dir.iterdir()) if tmp_dir.is_dir() else []

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; return its SHA-256 and whether it was newly written.

        Raises RawStoreError when the store cannot be written.
        """
        return self.put_many([data])[0]

    def put_many(self, datas: Sequence[bytes], *, encoded: Mapping[str, bytes] | None = None) -> list[tuple[str, bool]]:
        """Store every item of ``datas``; return, in order, each one's SHA-256 and whether it
        was newly written (a repeat within ``datas`` is not new). ``encoded`` may hold blobs
        already encoded by :attr:`encoder` (in worker processes), by SHA-256.

        The blobs are written to temporary files first, then made durable together (their
        fsyncs run concurrently: the file system commits them in a few journal transactions
        instead of one each), then renamed into place. Until its rename a blob does not exist.

        Raises RawStoreError when the store cannot be written; blobs renamed before the error
        stay (they are whole), the others are removed.
        """
        results: list[tuple[str, bool]] = []
        pending: dict[str, tuple[str, Path]] = {}  # sha -> (temporary name, target)
        try:
            try:
                tmp_dir = self.root / "tmp"
                writer = f"{socket.gethostname()}.{os.getpid()}"
                for data in datas:
                    sha = hash_bytes(data)
                    target = self.path_for(sha)
                    if sha in pending or target.exists():
                        results.append((sha, False))
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                    tmp_dir.mkdir(exist_ok=True, mode=0o700)
                    # Named by its writer: where nodes share the store, a partial file of a writer
                    # that died is told from one in flight (remove_partial).
                    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=f"{sha[:16]}.{writer}.", suffix=".part")
                    pending[sha] = (tmp_name, target)
                    with os.fdopen(fd, "wb") as fh:
                        blob = encoded.get(sha) if encoded else None
                        if blob is not None:
                            fh.write(blob)
                        else:
                            self.encoder.write(fh, sha, data)
                    results.append((sha, True))
                if self.fsync and pending:
                    _fsync_all([name for name, _ in pending.values()])
                for sha in list(pending):
                    tmp_name, target = pending.pop(sha)
                    os.replace(tmp_name, target)
            finally:
                for tmp_name, _ in pending.values():
                    try:
                        os.unlink(tmp_name)
                    except FileNotFoundError:
                        pass
        except OSError as exc:
            raise RawStoreError(
                f"cannot write to the raw store {self.root}: {exc.strerror or exc}; "
                "check free disk space and that the data directory is writable"
            ) from exc
        return results

    def get(self, sha256: str) -> bytes:
        """The exact bytes stored under ``sha256``, verified against the hash.

        Raises RawStoreError when the blob is missing, corrupt, or encrypted and no (or the wrong) key is set.
        """
        path = self.path_for(sha256)
        try:
            stored = path.read_bytes()
            if path.name.endswith(_ENCRYPTED_SUFFIX):
                stored = self._open(sha256, path, stored)
            data = gzip.decompress(stored)
        except FileNotFoundError as exc:
            raise RawStoreError(
                f"raw message {sha256[:12]} is missing from {self.root}; "
                "restore the raw store from a backup"
            ) from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise RawStoreError(f"raw message {sha256[:12]} at {path} is unreadable: {exc}") from exc
        if hash_bytes(data) != sha256:
            raise RawStoreError(
                f"raw message {sha256[:12]} at {path} does not match its hash; "
                "the file is corrupt: restore it from a backup"
            )
        return data

    def _open(self, sha256: str, path: Path, stored: bytes) -> bytes:
        if self._aead is None:
            raise RawStoreError(
                f"raw message {sha256[:12]} is encrypted and no key is configured; "
                "set the raw store key ([raw_store] in dossier.toml) as when it was written"
            )
        try:
            return _open_with(self._aead, stored, sha256.encode())
        except _NotSealed:
            raise RawStoreError(f"raw message {sha256[:12]} at {path} is not an encrypted Dossier blob; "
                                "restore it from a backup") from None
        except _WrongKey:
            raise RawStoreError(
                f"raw message {sha256[:12]} at {path} cannot be decrypted: the key is wrong or the file "
                "is corrupt"
            ) from None


# ---------------------------------------------------------------------------- sealing
# The raw store's AES-256-GCM format (magic, random nonce, ciphertext and tag), also used for other
# secrets kept beside the archive (the OAuth2 grants), each with its own associated data.


class _NotSealed(ValueError):
    pass


class _WrongKey(ValueError):
    pass


def _aead(key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


@lru_cache(maxsize=4)
def _cached_aead(key: bytes):
    return _aead(key)


def _seal_with(aead, data: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _MAGIC + nonce + aead.encrypt(nonce, data, associated)


def _open_with(aead, sealed: bytes, associated: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag

    if not sealed.startswith(_MAGIC) or len(sealed) < len(_MAGIC) + _NONCE_BYTES + 16:
        raise _NotSealed("not a sealed Dossier blob")
    nonce = sealed[len(_MAGIC):len(_MAGIC) + _NONCE_BYTES]
    try:
        return aead.decrypt(nonce, sealed[len(_MAGIC) + _NONCE_BYTES:], associated)
    except InvalidTag:
        raise _WrongKey("the key is wrong or the data corrupt") from None


def is_sealed(data: bytes) -> bool:
    """True when ``data`` is in the sealed format of :func:`seal_bytes`."""
    return data.startswith(_MAGIC)


def seal_bytes(key: bytes, data: bytes, associated: bytes) -> bytes:
    """``data`` sealed with AES-256-GCM under the 32-byte ``key`` (the raw store's format), bound to
    ``associated`` (which must be given again to open it). Raises RawStoreError for a bad key."""
    if len(key) != KEY_BYTES:
        raise RawStoreError(f"the raw store key must be {KEY_BYTES} bytes, not {len(key)}")
    return _seal_with(_aead(key), data, associated)


def open_sealed(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    """The plaintext of :func:`seal_bytes`' output. Raises RawStoreError when ``sealed`` is not in
    that format, or the key or ``associated`` is not the one it was sealed with (or it was altered)."""
    if len(key) != KEY_BYTES:
        raise RawStoreError(f"the raw store key must be {KEY_BYTES} bytes, not {len(key)}")
    try:
        return _open_with(_aead(key), sealed, associated)
    except _NotSealed:
        raise RawStoreError("the data is not sealed with Dossier's format") from None
    except _WrongKey:
        raise RawStoreError("the data cannot be opened: the key is wrong or the data is corrupt") from None
