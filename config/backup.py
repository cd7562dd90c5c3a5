"""`dossier backup` (a consistent snapshot of a live archive) and `dossier export` (raw messages as mbox/Maildir).

A backup is itself a data directory: ``dossier.toml``, ``dossier.db`` (SQLite's online backup
API: a consistent snapshot even while the daemon writes) and ``raw/`` holding exactly the blobs
the snapshot's rows name (hard links where the file system allows: blobs are write-once). The
search index is not copied: it is derived data, and `dossier reindex` in the restored directory
rebuilds it from the raw store. Restoring is copying the backup directory into place.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

from sqlalchemy import select

from ingest import Message, RawStoreError
from linker import Link, find_customer

from .archive import Archive, Progress, no_progress
from .settings import DB_NAME, RAW_DIR, ConfigError

log = logging.getLogger(__name__)


@dataclass
class BackupReport:
    path: Path
    messages: int = 0
    blobs: int = 0
    linked: int = 0  # blobs hard-linked rather than copied
    missing: int = 0  # rows whose blob was already missing in the archive (see `dossier check`)

    def summary(self) -> dict:
        return {"path": str(self.path), "messages": self.messages, "blobs": self.blobs,
                "hard_linked": self.linked, "missing_blobs": self.missing}


def backup_archive(archive: Archive, dest: Path, *, progress: Progress = no_progress) -> BackupReport:
    """Write a consistent snapshot of ``archive`` into the new directory ``dest``.

    Safe while other processes write: the database is copied with SQLite's online backup API
    first, then the blobs its rows name (blobs are written before their rows commit, so each
    one exists). Raises ConfigError when ``dest`` exists and is not empty, or when the database
    is not SQLite (use pg_dump for PostgreSQL).
    """
    dest = Path(dest)
    if archive.engine.dialect.name != "sqlite":
        raise ConfigError(
            "dossier backup copies SQLite databases only; for PostgreSQL run pg_dump for the database "
            f"and copy {archive.settings.raw_path} and {archive.settings.config_path} yourself"
        )
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"the backup destination {dest} is not empty; name a new directory")
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(dest, 0o700)
    report = BackupReport(dest)
    source_db = archive.engine.url.database
    target_db = dest / DB_NAME
    with closing(sqlite3.connect(source_db, timeout=30)) as source, closing(sqlite3.connect(target_db)) as target:
        source.backup(target)  # one consistent snapshot, even with writers in WAL mode
        # The index is not copied: the restored archive's first `dossier reindex` (or import)
        # indexes every message.
        target.execute("UPDATE messages SET indexed_at = NULL")
        target.commit()
        shas = [row[0] for row in target.execute("SELECT sha256 FROM messages ORDER BY id")]
    os.chmod(target_db, 0o600)
    shutil.copy2(archive.settings.config_path, dest / "dossier.toml")
    os.chmod(dest / "dossier.toml", 0o600)
    report.messages = len(shas)
    raw_root = dest / RAW_DIR
    for sha in progress(shas):
        source_blob = archive.raw.path_for(sha)
        target_blob = raw_root / source_blob.relative_to(archive.raw.root)
        target_blob.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            try:
                os.link(source_blob, target_blob)
                report.linked += 1
            except OSError as exc:
                if isinstance(exc, FileNotFoundError):
                    raise
                shutil.copy2(source_blob, target_blob)
        except FileNotFoundError:
            report.missing += 1
            log.warning("backup: raw message %s is missing from the archive", sha[:12])
            continue
        report.blobs += 1
    log.info("backup: %s", report.summary())
    return report


@dataclass
class ExportReport:
    path: Path
    messages: int = 0
    missing: int = 0

    def summary(self) -> dict:
        return {"path": str(self.path), "messages": self.messages, "missing_blobs": self.missing}


def export_messages(
    archive: Archive, dest: Path, *, fmt: str = "mbox", customer: str | None = None, progress: Progress = no_progress
) -> ExportReport:
    """Write the raw bytes of every stored message (or one customer's) to an mbox file or a Maildir.

    Maildir keeps each message byte for byte; mbox adds a ``From `` line per message and quotes
    body lines starting with ``From `` (mboxrd). Raises ConfigError when ``dest`` exists, LinkError
    for an unknown customer.
    """
    dest = Path(dest)
    if dest.exists() and (dest.is_file() or any(dest.iterdir())):
        raise ConfigError(f"the export destination {dest} already exists; name a new file or directory")
    with archive.sessions() as session:
        query = select(Message.sha256, Message.from_email, Message.date).order_by(Message.date, Message.id)
        if customer is not None:
            customer_id = find_customer(session, customer).id
            query = query.where(Message.id.in_(select(Link.message_id).where(Link.customer_id == customer_id)))
        rows = session.execute(query).all()
    report = ExportReport(dest)
    writer = _MboxWriter(dest) if fmt == "mbox" else _MaildirWriter(dest)
    with writer:
        for sha, sender, date in progress(rows):
            try:
                data = archive.raw.get(sha)
            except RawStoreError as exc:
                report.missing += 1
                log.warning("export: %s", exc)
                continue
            writer.add(sha, data, sender or "MAILER-DAEMON", date)
            report.messages += 1
    return report


class _MboxWriter:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> _MboxWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        return self

    def add(self, sha: str, data: bytes, sender: str, date) -> None:
        envelope = f"From {sender.replace(' ', '')} {date.strftime('%a %b %d %H:%M:%S %Y')}\n".encode()
        self.fh.write(envelope)
        for line in _lines(data):
            if line.lstrip(b">").startswith(b"From "):
                line = b">" + line
            self.fh.write(line)
        if not data.endswith(b"\n"):
            self.fh.write(b"\n")
        self.fh.write(b"\n")

    def __exit__(self, *exc) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()


def _lines(data: bytes) -> Iterator[bytes]:
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        yield data[start:end]
        start = end


class _MaildirWriter:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> _MaildirWriter:
        for sub in ("cur", "new", "tmp"):
            (self.path / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    def add(self, sha: str, data: bytes, sender: str, date) -> None:
        stamp = int(date.replace(tzinfo=timezone.utc).timestamp()) if date else 0
        name = f"{stamp}.{sha[:16]}.dossier"
        tmp = self.path / "tmp" / name
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            fh.write(data)
        os.replace(tmp, self.path / "cur" / (name + ":2,S"))

    def __exit__(self, *exc) -> None:
        pass
