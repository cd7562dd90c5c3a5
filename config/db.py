"""Database wiring: the engine for the configured URL, the schema, and sessions."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event, inspect, text
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
        _add_missing_columns(engine)
    except (DatabaseError, OperationalError) as exc:
        reason = str(getattr(exc, "orig", exc)) or type(exc).__name__
        raise ConfigError(
            f"cannot use the database {engine.url.render_as_string(hide_password=True)}: {reason}; "
            "if the file is damaged, restore it from a backup"
        ) from exc
    return engine


def _add_missing_columns(engine: Engine) -> None:
    """Add columns that a newer Dossier declares to tables an older one created.

    ``create_all`` creates missing tables only. New columns are always nullable (or carry
    a default the code applies), so ``ALTER TABLE … ADD COLUMN`` is all an upgrade needs,
    and both SQLite and PostgreSQL understand it.
    """
    inspector = inspect(engine)
    existing_tables = set(inspector.get_table_names())
    statements = []
    for table in Base.metadata.sorted_tables:
        if table.name not in existing_tables:
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=engine.dialect)
                preparer = engine.dialect.identifier_preparer
                statements.append(
                    f"ALTER TABLE {preparer.quote(table.name)} ADD COLUMN {preparer.quote(column.name)} {kind}"
                )
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
        for table in Base.metadata.sorted_tables:
            if table.name in existing_tables:
                for index in table.indexes:
                    index.create(connection, checkfirst=True)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
