"""`dossier backup` (a consistent snapshot of a live archive) and `dossier export` (raw messages as mbox/Maildir).

A backup is itself a data directory: ``dossier.toml``, the database and ``raw/`` holding exactly
the blobs the database's snapshot names (hard links where the file system allows: blobs are
write-once), with the raw store's ``dossier-archive.json``. On SQLite the database is
``dossier.db``, copied with SQLite's online backup API (a consistent snapshot even while the
daemon writes); the search index is not copied, `dossier reindex` in the restored directory
rebuilds it. On PostgreSQL it is ``dossier.pgdump``, written by ``pg_dump`` (custom format) from
an exported snapshot, the same one the blob list is read in, so rows and blobs match; it holds
the postgres engine's index too. Restoring is copying the backup directory into place, or on
PostgreSQL ``pg_restore`` into a new database (README, "Running on PostgreSQL").
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

from sqlalchemy import select, text

from ingest import Message, RawStoreError
from linker import Link, find_customer

from .archive import Archive, Progress, no_progress
from .identity import RAW_MARKER
from .settings import DB_NAME, RAW_DIR, ConfigError, Settings

log = logging.getLogger(__name__)

#: The database of a backup of an archive on PostgreSQL (pg_dump's custom format).
DUMP_NAME = "dossier.pgdump"


@dataclass
class BackupReport:
    path: Path
    messages: int = 0
    blobs: int = 0
    linked: int = 0  # blobs hard-linked rather than copied
    missing: int = 0  # rows whose blob was already missing in the archive (see `dossier check`)
    database: str = ""  # the database file of the backup (dossier.db, dossier.pgdump)

    def summary(self) -> dict:
        return {"path": str(self.path), "messages": self.messages, "blobs": self.blobs,
                "hard_linked": self.linked, "missing_blobs": self.missing, "database": self.database}


def backup_archive(archive: Archive, dest: Path, *, progress: Progress = no_progress) -> BackupReport:
    """Write a consistent snapshot of ``archive`` into the new directory ``dest``.

    Safe while other processes (other nodes) write: the database is copied first (SQLite's online
    backup API, or pg_dump from an exported snapshot), then the blobs its rows name (blobs are
    written before their rows commit, so each one exists). Raises ConfigError when ``dest``
    exists and is not empty, or when pg_dump is missing or fails.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"the backup destination {dest} is not empty; name a new directory")
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(dest, 0o700)
    report = BackupReport(dest)
    if archive.engine.dialect.name == "sqlite":
        shas = _copy_sqlite(archive, dest / DB_NAME)
        report.database = DB_NAME
    else:
        shas = _dump_postgres(archive, dest / DUMP_NAME)
        report.database = DUMP_NAME
    _copy_config(archive.settings, dest / "dossier.toml")
    report.messages = len(shas)
    raw_root = dest / RAW_DIR
    raw_root.mkdir(exist_ok=True, mode=0o700)
    marker = archive.raw.root / RAW_MARKER
    if marker.exists():  # which archive these blobs belong to
        shutil.copy2(marker, raw_root / RAW_MARKER)
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


def _copy_sqlite(archive: Archive, target_db: Path) -> list[str]:
    """Copy the SQLite database; return the SHA-256 of every message the copy holds."""
    with closing(sqlite3.connect(archive.engine.url.database, timeout=30)) as source, \
            closing(sqlite3.connect(target_db)) as target:
        source.backup(target)  # one consistent snapshot, even with writers in WAL mode
        # The index is not copied: the restored archive's first `dossier reindex` (or import)
        # indexes every message.
        target.execute("UPDATE messages SET indexed_at = NULL")
        target.commit()
        shas = [row[0] for row in target.execute("SELECT sha256 FROM messages ORDER BY id")]
    os.chmod(target_db, 0o600)
    return shas


def pg_tool(name: str) -> str:
    """The path of PostgreSQL's client program ``name`` (pg_dump, pg_restore): on PATH, else the
    newest of Debian's /usr/lib/postgresql/*/bin. Raises ConfigError when it is not installed."""
    found = shutil.which(name)
    if found:
        return found
    for directory in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda d: d.parent.name, reverse=True):
        if (directory / name).exists():
            return str(directory / name)
    raise ConfigError(f"{name} is not installed; install PostgreSQL's client programs (Debian: postgresql-client, "
                      "of the server's version or newer)")


def libpq_environment(url) -> dict[str, str]:
    """The environment that points libpq programs (pg_dump, psql) at the database of ``url``
    (a SQLAlchemy URL); a password it holds goes in PGPASSWORD, never on a command line."""
    environ = dict(os.environ)
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGDATABASE", url.database), ("PGPASSWORD", url.password)):
        if value:
            environ[key] = str(value)
    return environ


def _copy_config(settings: Settings, target: Path) -> None:
    """The config, but for ``[raw_store] path``: a backup keeps its raw files in its own ``raw/``
    (restored, it must not write into the live archive's shared raw store)."""
    if not settings.raw_dir:
        shutil.copy2(settings.config_path, target)
    else:
        import tomlkit

        config = tomlkit.parse(settings.config_path.read_text(encoding="utf-8"))
        config["raw_store"]["path"] = ""
        target.write_text(tomlkit.dumps(config), encoding="utf-8")
    os.chmod(target, 0o600)


def _dump_postgres(archive: Archive, target: Path) -> list[str]:
    """pg_dump the archive's database (custom format) into ``target`` from a snapshot this
    transaction exports; return the SHA-256 of every message in that same snapshot."""
    pg_dump = pg_tool("pg_dump")
    with archive.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            shas = list(connection.scalars(select(Message.sha256).order_by(Message.id)))
            # The snapshot stays valid while this transaction is open: pg_dump reads exactly it.
            done = subprocess.run([pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password",
                                   f"--file={target}"], env=libpq_environment(archive.engine.url),
                                  capture_output=True, text=True)
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        reason = next((line for line in done.stderr.splitlines() if line.strip()), f"exit {done.returncode}")
        raise ConfigError(f"pg_dump failed: {reason}")
    os.chmod(target, 0o600)
    return shas


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
