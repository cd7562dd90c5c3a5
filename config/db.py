"""Database wiring: the engine for the configured URL, the schema, and sessions."""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import sessionmaker

import linker.models  # noqa: F401  (registers the linker's tables on the shared metadata)

from . import migrations
from . import models as _models  # noqa: F401  (and the users and audit tables)
from .settings import ConfigError

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets searches read while an import writes; foreign keys make cascades real.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, upgrade: bool = True) -> Engine:
    """An engine for ``url``, with the schema brought to the newest revision unless ``upgrade``
    is false. Raises ConfigError on an unusable database."""
    engine = _create(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if upgrade:
        upgrade_schema(engine)
    return engine


#: Where the URL comes from, for the lines that cannot show it (it may hold a password).
_URL_SOURCE = "the database URL ($DOSSIER_DATABASE_URL, or [database] url in dossier.toml)"
#: SQLite's result codes for a file it may not write or cannot open (rather than a damaged one).
_SQLITE_READONLY, _SQLITE_CANTOPEN = 8, 14


def _create(url: str) -> Engine:
    """``create_engine``, its errors for a malformed URL or a missing driver as ConfigError."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        return create_engine(url)
    except NoSuchModuleError:
        raise ConfigError(f"{_URL_SOURCE} names a kind of database Dossier cannot use; write it as "
                          "postgresql+psycopg://USER@HOST/DB or sqlite:////PATH/dossier.db") from None
    except ArgumentError:
        raise ConfigError(f"{_URL_SOURCE} is not a database URL; write it as postgresql+psycopg://USER@HOST/DB "
                          "or sqlite:////PATH/dossier.db") from None
    except ImportError as exc:
        if "psycopg" in str(exc) or url.startswith("postgres"):
            raise ConfigError("the database is PostgreSQL but its driver is not installed; install it with "
                              "`pip install 'dossier[postgres]'`") from None
        raise ConfigError(f"the driver for {_URL_SOURCE} is not installed ({exc})") from None


def _unusable(engine: Engine, exc: DatabaseError) -> str:
    """One line for a database that cannot be used, saying which of the usual causes it is."""
    where = engine.url.render_as_string(hide_password=True)
    orig = getattr(exc, "orig", None)
    reason = str(orig or exc).splitlines()[0] if str(orig or exc) else type(exc).__name__
    if engine.dialect.name != "sqlite":
        if isinstance(exc, OperationalError):
            return (f"cannot reach the database {where}: {reason}; check that the server is running and "
                    "that the URL's host, port, user and password are right")
        return f"cannot use the database {where}: {reason}"
    code = getattr(orig, "sqlite_errorcode", None)
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
        return (f"cannot open the database {where} for writing ({reason}): the data directory or the file is "
                "read-only or missing; make it writable (or remount it read-write) or use another --data-dir")
    return f"cannot use the database {where}: {reason}; if the file is damaged, restore it from a backup"


def schema_revision(connection: Connection) -> str | None:
    """The revision the database is at; None for an empty database or one made before migrations."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.scalar(text("SELECT version_num FROM alembic_version"))


def upgrade_schema(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to :data:`migrations.HEAD` (nothing to do costs one query); return the
    revisions before and after. A database made before migrations is adopted by the baseline.
    Raises ConfigError on an unusable database."""
    try:
        with engine.connect() as connection:
            before = schema_revision(connection)
        if before == migrations.HEAD:
            return before, before
        try:
            run_migrations(engine, "upgrade", "head")
        except (DatabaseError, OperationalError):
            # Another process opening the same archive may have upgraded it first.
            with engine.connect() as connection:
                if schema_revision(connection) != migrations.HEAD:
                    raise
    except (DatabaseError, OperationalError) as exc:
        raise ConfigError(_unusable(engine, exc)) from exc
    if before is not None:
        log.info("upgraded the database schema from revision %s to %s", before, migrations.HEAD)
    return before, migrations.HEAD


def run_migrations(engine: Engine, action: str, target: str) -> None:
    """Run Alembic's ``upgrade`` or ``downgrade`` to ``target`` in one transaction.

    On SQLite, foreign keys are off while it runs: a batch migration re-creates a table, and
    dropping the old one with foreign keys on would cascade-delete every row that points at it
    (a customer's domains and links, a message's copies). The keys are checked before commit.
    """
    from alembic import command

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # no effect inside a transaction
            connection.commit()
        try:
            with connection.begin():
                getattr(command, action)(migrations.alembic_config(connection), target)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise ConfigError(f"the migration to revision {target} left rows pointing at nothing; "
                                      "nothing was changed, please report this")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
