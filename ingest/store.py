"""The raw message store: every message's exact bytes, content-addressed by SHA-256, gzip-compressed.

Layout: ``<root>/ab/cd/<sha256>.eml.gz``. A blob is written to a temporary file in
``<root>/tmp`` and renamed into place, so a blob either exists whole or not at all;
``zcat`` reads any blob. Blobs are written before any database row points at them.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zlib
from pathlib import Path

from .errors import RawStoreError

_SUFFIX = ".eml.gz"


def hash_bytes(data: bytes) -> str:
    """The SHA-256 hex digest that identifies ``data`` in the store."""
    return hashlib.sha256(data).hexdigest()


class RawStore:
    """Content-addressed, compressed, write-once storage for raw messages."""

    def __init__(self, root: Path, *, fsync: bool = True, compresslevel: int = 6) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.compresslevel = compresslevel

    def path_for(self, sha256: str) -> Path:
        """Where the blob for ``sha256`` lives (whether or not it exists)."""
        return self.root / sha256[:2] / sha256[2:4] / (sha256 + _SUFFIX)

    def contains(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; return its SHA-256 and whether it was newly written.

        Raises RawStoreError when the store cannot be written.
        """
        sha = hash_bytes(data)
        target = self.path_for(sha)
        if target.exists():
            return sha, False
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp_dir = self.root / "tmp"
            tmp_dir.mkdir(exist_ok=True, mode=0o700)
            fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=sha[:16], suffix=".part")
            try:
                with os.fdopen(fd, "wb") as fh:
                    # mtime=0 keeps the compressed bytes a function of the content alone.
                    with gzip.GzipFile(
                        filename="", mode="wb", fileobj=fh,
                        compresslevel=self.compresslevel, mtime=0,
                    ) as gz:
                        gz.write(data)
                    if self.fsync:
                        fh.flush()
                        os.fsync(fh.fileno())
                os.replace(tmp_name, target)
            except BaseException:
                try:
                    os.unlink(tmp_name)
                except FileNotFoundError:
                    pass
                raise
        except OSError as exc:
            raise RawStoreError(
                f"cannot write to the raw store {self.root}: {exc.strerror or exc}; "
                "check free disk space and that the data directory is writable"
            ) from exc
        return sha, True

    def get(self, sha256: str) -> bytes:
        """The exact bytes stored under ``sha256``, verified against the hash.

        Raises RawStoreError when the blob is missing or corrupt.
        """
        path = self.path_for(sha256)
        try:
            data = gzip.decompress(path.read_bytes())
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
