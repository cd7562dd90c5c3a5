"""Database wiring: the engine for the configured URL, the schema, and sessions."""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import sessionmaker

import linker.models  # noqa: F401  (registers the linker's tables on the shared metadata)

from . import migrations, models  # noqa: F401  (models: the composition root's own tables)
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


#: The drivers Dossier talks to its databases with, by dialect.
DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}
_EXAMPLES = "postgresql+psycopg://USER@HOST/DATABASE or sqlite:////PATH/dossier.db"
#: Where a URL came from when the caller does not say (a line about it never shows it: it may hold a password).
_URL_SOURCE = "$DOSSIER_DATABASE_URL, or [database] url in dossier.toml"
#: SQLite's result codes for a file it may not write or cannot open (rather than a damaged one).
_SQLITE_READONLY, _SQLITE_CANTOPEN = 8, 14


def check_url(url: str, source: str = "") -> str:
    """``url`` as Dossier connects with it: SQLite, or PostgreSQL through psycopg 3 (``postgresql://``
    and ``postgres://`` get that driver named). Raises ConfigError, naming ``source`` (where the
    URL came from) and never the URL itself, for a malformed URL, another kind of database or
    driver, a PostgreSQL URL without a database, or a PostgreSQL driver that is not installed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    where = f" (from {source or _URL_SOURCE})"
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise ConfigError(f"the database URL{where} is not a database URL; write it as {_EXAMPLES}") from None
    dialect, _, driver = parsed.drivername.partition("+")
    if dialect == "postgres":
        dialect = "postgresql"
    if dialect not in DRIVERS:
        raise ConfigError(f"the database URL{where} names {dialect!r}, a kind of database Dossier cannot use: it "
                          f"keeps its archive in SQLite or PostgreSQL; write it as {_EXAMPLES}")
    if driver and driver != DRIVERS[dialect]:
        raise ConfigError(f"the database URL{where} names the driver {driver!r}; Dossier talks to {dialect} through "
                          f"{DRIVERS[dialect]}: write {dialect}+{DRIVERS[dialect]}://…")
    if dialect == "postgresql":
        if not parsed.database:
            raise ConfigError(f"the database URL{where} names no database; write it as {_EXAMPLES}")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ConfigError("the database is PostgreSQL but its driver is not installed; install it with "
                              "`pip install 'dossier[postgres]'`") from None
    parsed = parsed.set(drivername=f"{dialect}+{DRIVERS[dialect]}")
    return parsed.render_as_string(hide_password=False)


def url_without_password(url: str) -> str:
    """``url`` with its password left out (what a config file may record)."""
    from sqlalchemy.engine import make_url

    return make_url(url)._replace(password=None).render_as_string(hide_password=False)  # URL.set() ignores None


def shown_url(url: str) -> str:
    """``url`` as messages show it: the password masked."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, *, upgrade: bool = True, source: str = "") -> Engine:
    """An engine for ``url``, with the schema brought to the newest revision unless ``upgrade``
    is false. Raises ConfigError on a URL Dossier cannot use (naming ``source``, where it came
    from) or an unusable database."""
    url = check_url(url, source)
    if url.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # A daemon outlives server restarts and idle-connection timeouts: test a pooled connection
        # before use. The application name tells an administrator's pg_stat_activity who this is.
        engine = create_engine(url, pool_pre_ping=True, connect_args={"application_name": "dossier"})
    if upgrade:
        upgrade_schema(engine)
    return engine


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
        raise ConfigError(unusable_database(engine, exc)) from exc
    if before is not None:
        log.info("upgraded the database schema from revision %s to %s", before, migrations.HEAD)
    return before, migrations.HEAD


def unusable_database(engine: Engine, exc: Exception) -> str:
    """One line saying why the database of ``engine`` cannot be used, which of the usual causes it
    is (a missing password or database, a server out of reach, a read-only or damaged file), and
    what to do."""
    reason = next((line.strip() for line in str(getattr(exc, "orig", None) or exc).splitlines() if line.strip()),
                  type(exc).__name__)
    where = engine.url.render_as_string(hide_password=True)
    if engine.dialect.name == "sqlite":
        if getattr(getattr(exc, "orig", None), "sqlite_errorcode", None) in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
            return (f"cannot open the database {where} for writing ({reason}): the data directory or the file is "
                    "read-only or missing; make it writable (or remount it read-write) or use another --data-dir")
        return f"cannot use the database {where}: {reason}; if the file is damaged, restore it from a backup"
    if "password" in reason:
        return (f"cannot use the database {where}: {reason}; give the password in PGPASSWORD or ~/.pgpass (or in "
                "DOSSIER_DATABASE_URL)")
    if "does not exist" in reason:
        return f"cannot use the database {where}: {reason}; create it (createdb) or correct the URL"
    if isinstance(exc, OperationalError):
        return (f"cannot reach the database {where}: {reason}; check that the server is running and that the "
                "URL's host, port, user and password are right")
    return f"cannot use the database {where}: {reason}"


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
