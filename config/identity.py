"""The archive knows itself: which database, raw store and data directories (nodes) belong together.

The database records the archive's id and where its raw store was (``archive_identity``); the raw
store records the id in ``dossier-archive.json``; each data directory (a *node*: on PostgreSQL
there may be several, on several machines, sharing the database and the raw store) records in
``node.json`` the archive it belongs to, its own node id and the database URL (never a password).
A data directory opened against another archive's database, with another archive's raw store, or
without the database it belongs to is refused in one line naming both; nothing is created first.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from ingest import utcnow

from .db import shown_url, url_without_password
from .models import ArchiveIdentity, Node
from .settings import ConfigError, Settings

log = logging.getLogger(__name__)

#: In the raw store: the id of the archive whose messages it holds.
RAW_MARKER = "dossier-archive.json"
#: In a data directory: the archive it belongs to, its node id, the archive's database.
NODE_FILE = "node.json"


@dataclass(frozen=True)
class NodeFile:
    archive: str
    node: str
    database: str  # the URL without a password, for messages


def read_node_file(data_dir: Path) -> NodeFile | None:
    """What ``data_dir/node.json`` says, or None for a data directory that has none yet."""
    data = _read_json(Path(data_dir) / NODE_FILE)
    if data is None:
        return None
    return NodeFile(archive=str(data.get("archive", "")), node=str(data.get("node", "")),
                    database=str(data.get("database", "")))


def read_raw_marker(raw_path: Path) -> str | None:
    """The archive id the raw store at ``raw_path`` belongs to, or None when it names none."""
    data = _read_json(Path(raw_path) / RAW_MARKER)
    return None if data is None else str(data.get("archive", ""))


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} cannot be read ({exc}); restore it from a backup or remove it") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not what Dossier wrote there; restore it from a backup or remove it")
    return data


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.write("\n")
    os.replace(tmp, path)


def _database_file(settings: Settings) -> Path | None:
    """The SQLite file of ``settings``' URL, or None for a server database."""
    url = settings.database_url
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def check_before_connecting(settings: Settings) -> None:
    """Refuse a data directory that belongs to an archive on another database when its own URL
    names a SQLite file that does not exist (connecting would create an empty one beside the
    archive's raw store): the config lost its ``[database] url``, or DOSSIER_DATABASE_URL is unset.

    Raises ConfigError naming the database the data directory belongs to.
    """
    node = read_node_file(settings.data_dir)
    database = _database_file(settings)
    if node is None or database is None or database.exists():
        return
    if node.database and node.database != url_without_password(settings.database_url):
        raise ConfigError(
            f"the data directory {settings.data_dir} belongs to the archive in {node.database}, but Dossier was "
            f"given {shown_url(settings.database_url)}, which does not exist; set [database] url in "
            f"{settings.config_path} (or DOSSIER_DATABASE_URL) to {node.database}")


def establish_identity(settings: Settings, engine: Engine) -> str:
    """Check that the database of ``engine``, the raw store and the data directory of ``settings``
    belong to one archive; give a new archive (or one made before identities) its id; record a
    data directory joining an archive as a node. Return this data directory's node id.

    Raises ConfigError, naming both sides, when they belong to different archives.
    """
    node = read_node_file(settings.data_dir)
    raw = settings.raw_path
    marker = read_raw_marker(raw)
    where = shown_url(settings.database_url)
    with engine.connect() as connection:
        identity = connection.execute(select(ArchiveIdentity.archive, ArchiveIdentity.raw_store)).first()
    if identity is None:
        if node is not None:
            belongs = f"the data directory {settings.data_dir} belongs to the archive in {node.database}"
        else:
            belongs = f"the raw store {raw} belongs to another archive" if marker else ""
        named = {name for name in (node.archive if node else None, marker) if name}
        if belongs and (len(named) > 1 or not _has_messages(engine)):
            raise ConfigError(f"{belongs}, but {where} holds no archive; set [database] url in {settings.config_path} "
                              "(or DOSSIER_DATABASE_URL) to that archive's database")
        # A new archive gets an id; an archive whose database lost it (made before identities, or
        # downgraded below revision 0006) takes the one its data directory and raw store name.
        identity = _claim(engine, raw, named.pop() if named else uuid.uuid4().hex)
    archive, raw_store = identity
    if node is not None and node.archive != archive:
        raise ConfigError(
            f"the data directory {settings.data_dir} belongs to the archive in {node.database}, "
            f"but {where} holds another archive (raw store {raw_store}); set [database] url in "
            f"{settings.config_path} (or DOSSIER_DATABASE_URL) to the data directory's database")
    if marker is not None and marker != archive:
        raise ConfigError(
            f"the raw store {raw} belongs to another archive than the one in {where}, whose raw store is "
            f"{raw_store}; set [raw_store] path in {settings.config_path} to that archive's raw store")
    if marker is None:
        if str(raw) != raw_store:
            raise ConfigError(
                f"{where} holds an archive whose raw store is {raw_store}, and {raw} is not it; the nodes of one "
                f"archive share its raw store: set [raw_store] path in {settings.config_path} (or `dossier init "
                "--raw-store`) to it")
        raw.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_json(raw / RAW_MARKER, {"archive": archive})
    if node is None:
        node = NodeFile(archive=archive, node=uuid.uuid4().hex, database=url_without_password(settings.database_url))
        _write_json(Path(settings.data_dir) / NODE_FILE, {"archive": node.archive, "node": node.node,
                                                          "database": node.database})
        log.info("data directory %s joined archive %s as node %s", settings.data_dir, archive, node.node)
    _register(engine, node.node, str(settings.data_dir))
    return node.node


def _claim(engine: Engine, raw: Path, archive: str) -> tuple[str, str]:
    """Give the archive in ``engine``'s database the id ``archive`` (another process may give it
    one at the same time: then that one)."""
    try:
        with engine.begin() as connection:
            connection.execute(ArchiveIdentity.__table__.insert().values(
                id=1, archive=archive, raw_store=str(raw), created_at=utcnow()))
    except IntegrityError:
        pass  # another process opening the same archive gave it one first
    with engine.connect() as connection:
        return tuple(connection.execute(select(ArchiveIdentity.archive, ArchiveIdentity.raw_store)).one())


def _has_messages(engine: Engine) -> bool:
    from ingest import Message

    with engine.connect() as connection:
        return connection.execute(select(Message.id).limit(1)).first() is not None


def _register(engine: Engine, node: str, data_dir: str) -> None:
    """Record node ``node`` (this data directory) in the database, once."""
    host = socket.gethostname()
    with engine.connect() as connection:
        known = connection.execute(select(Node.host, Node.data_dir).where(Node.id == node)).first()
    if known == (host, data_dir):
        return
    try:
        with engine.begin() as connection:
            if known is None:
                connection.execute(Node.__table__.insert().values(id=node, host=host, data_dir=data_dir,
                                                                  joined_at=utcnow(), holds=[]))
            else:  # the data directory moved (to another path or machine)
                connection.execute(Node.__table__.update().where(Node.id == node).values(host=host, data_dir=data_dir))
    except IntegrityError:
        pass  # registered by another process of this data directory meanwhile
