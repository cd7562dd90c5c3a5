"""Database wiring: the engine for the configured URL, the schema, and sessions."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import sessionmaker

import linker.models  # noqa: F401  (registers the linker's tables on the shared metadata)
from ingest.models import Base

from .settings import ConfigError


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets searches read while an import writes; foreign keys make cascades real.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the schema created. Raises ConfigError on an unusable database."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        Base.metadata.create_all(engine)
    except (DatabaseError, OperationalError) as exc:
        reason = str(getattr(exc, "orig", exc)) or type(exc).__name__
        raise ConfigError(
            f"cannot use the database {engine.url.render_as_string(hide_password=True)}: {reason}; "
            "if the file is damaged, restore it from a backup"
        ) from exc
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
