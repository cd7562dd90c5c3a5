"""Shared fixtures: a fresh data directory and a CLI runner bound to it, and a message builder."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from tests.timing import VARIABLE, time_factor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"


def pytest_configure(config: pytest.Config) -> None:
    try:
        time_factor()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"wall-clock bounds scaled by {time_factor():g} (${VARIABLE})",
            f"database backends: {', '.join(backends())} (${BACKENDS_VARIABLE})"]


def make_message(
    *,
    subject: str = "Hello",
    sender: str = "Alice <alice@example.org>",
    to: str = "Bob <bob@northwind-trading.com>",
    cc: str | None = None,
    body: str = "Hello there.",
    date: datetime | None = datetime(2024, 3, 5, 9, 30, tzinfo=timezone.utc),
    message_id: str | None = "<m1@example.org>",
    attachments: tuple[tuple[str, bytes, str], ...] = (),
) -> bytes:
    """A well-formed message as bytes (UTF-8 where needed)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    if date is not None:
        msg["Date"] = format_datetime(date)
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(body)
    for name, data, mime in attachments:
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


# --- database backends -----------------------------------------------------------------------

#: Every test that touches a database runs once per backend (the ``backend`` fixture).
BACKENDS = ("sqlite", "postgres")
#: Narrows the backends for a quick local run (``DOSSIER_TEST_BACKENDS=sqlite``); CI runs both.
BACKENDS_VARIABLE = "DOSSIER_TEST_BACKENDS"


def backends() -> tuple[str, ...]:
    wanted = [b.strip() for b in os.environ.get(BACKENDS_VARIABLE, "").split(",") if b.strip()]
    unknown = set(wanted) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"{BACKENDS_VARIABLE} names {', '.join(sorted(unknown))}; use {', '.join(BACKENDS)}")
    return tuple(b for b in BACKENDS if b in wanted) if wanted else BACKENDS


@pytest.fixture(scope="module",
                params=[pytest.param(b, marks=pytest.mark.postgres) if b == "postgres" else b for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    """The database of the archives a test makes: every such test runs on SQLite and on PostgreSQL
    (per module, so that an archive a module's tests share is made once per backend)."""
    return request.param


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The index engine and the database are independent but for one pair: the postgres engine
    # lives in the archive's PostgreSQL database. The file engines hold the same on either
    # database, so Whoosh (the slower, older one) runs on SQLite only and tantivy on both.
    keep, drop = [], []
    chosen = backends()
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        engine, backend = params.get("engine"), params.get("backend")
        if backend is not None and backend not in chosen:
            drop.append(item)
        elif backend is not None and engine is not None and (
                (engine == "postgres") != (backend == "postgres") and engine != "tantivy"):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class Databases:
    """The session's private PostgreSQL cluster (``tests/pgcluster.py``): fresh databases, each a
    copy of a template already at the newest schema revision (or empty)."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self._templates: dict[str, str] = {}

    def template(self, kind: str = "archive") -> str:
        """A template database: ``archive`` migrated to the newest revision (as `dossier init`
        leaves it), ``tables`` made from the models' metadata (the stage tests, without config)."""
        if kind not in self._templates:
            name = self.cluster.create_database(f"template_{kind}")
            url = self.cluster.url(name)
            if kind == "archive":
                from config.db import make_engine

                engine = make_engine(url)
            else:
                from sqlalchemy import create_engine

                import linker.models  # noqa: F401  (the linker's tables on the shared metadata)
                from ingest.models import Base

                engine = create_engine(url)
                Base.metadata.create_all(engine)
            engine.dispose()
            self._templates[kind] = name
        return self._templates[kind]

    @contextmanager
    def new(self, template: str | None = "archive") -> Iterator[str]:
        """The URL of a new database (a copy of ``template``; None: empty), dropped afterwards."""
        name = self.cluster.create_database(template=self.template(template) if template else None)
        try:
            yield self.cluster.url(name)
        finally:
            self.cluster.drop_database(name)


def require_installed(is_installed: bool, what: str, package: str, variable: str) -> None:
    """Skip the test when ``what`` is not installed, or fail it when ``$variable`` says the run
    needs it (the README's test command sets it, having installed ``package``)."""
    if not is_installed:
        message = f"{what} is not installed: run the README's test command (it installs {package})"
        if os.environ.get(variable):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Databases]:
    """The private PostgreSQL cluster the whole session shares (started on first use)."""
    from tests.pgcluster import PostgresCluster, bin_dir

    require_installed(bin_dir() is not None, "PostgreSQL", "postgresql", "DOSSIER_REQUIRE_POSTGRES")
    root = Path(tempfile.mkdtemp(prefix="dossier-pg-"))
    cluster = PostgresCluster(root)
    try:
        cluster.init()
        cluster.start()
        yield Databases(cluster)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def tables_session(backend: str, request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Session]:
    """A session on a database holding the models' tables (made from their metadata, without
    ``config``): SQLite at ``sqlite_url`` with foreign keys on (cascades are part of what the
    stages rely on), or a fresh PostgreSQL database."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import Session

    if backend == "postgres":
        with request.getfixturevalue("postgres").new(template="tables") as url:
            engine = create_engine(url)
            with Session(engine) as session:
                yield session
            engine.dispose()
        return
    import linker.models  # noqa: F401  (the linker's tables on the shared metadata)
    from ingest.models import Base

    engine = create_engine(sqlite_url)
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


@contextmanager
def archive_database(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The URL of a fresh archive database on ``backend`` (None: SQLite in the data directory),
    dropped afterwards."""
    if backend == "sqlite":
        yield None
        return
    with request.getfixturevalue("postgres").new() as url:
        yield url


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """:func:`archive_database` for one test."""
    with archive_database(backend, request) as url:
        yield url


@contextmanager
def index_database(engine: str, request: pytest.FixtureRequest):
    """The database an index of ``engine`` needs (an ``index.IndexDatabase``): a fresh, empty
    PostgreSQL database for the postgres engine, None for the engines that keep their index in files."""
    if engine != "postgres":
        yield None
        return
    from index import IndexDatabase

    with request.getfixturevalue("postgres").new(template=None) as url:
        yield IndexDatabase(url)


@pytest.fixture
def engine_database(engine: str, request: pytest.FixtureRequest):
    """:func:`index_database` for one test."""
    with index_database(engine, request) as database:
        yield database


class Dossier:
    """Runs `dossier` commands against one data directory, in-process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()

    def run(self, *args: str, expect: int | None = 0, data_dir: bool = True, input: str | None = None):
        from config.cli import main  # here, so the stage tests (tests/linker …) never load config

        argv = (["--data-dir", str(self.data_dir)] if data_dir else []) + [str(a) for a in args]
        result = self.runner.invoke(main, argv, catch_exceptions=False, input=input)
        if expect is not None:
            assert result.exit_code == expect, result.output
        return result

    def json(self, *args: str):
        return json.loads(self.run(*args, "--json").stdout)


#: Every index engine; suites that must hold for each (index, search) run once per engine with
#: ``pytestmark = pytest.mark.parametrize("engine", ENGINES)``.
ENGINES = ("tantivy", "whoosh", "postgres")


@pytest.fixture
def engine() -> str:
    """The engine of the archives a test makes: the default one, unless a module asks for others."""
    return ENGINES[0]


@pytest.fixture
def dossier(tmp_path: Path, engine: str, database_url: str | None) -> Dossier:
    """A fresh archive of ``engine`` on the ``backend`` database (its URL recorded by init)."""
    d = Dossier(tmp_path / "data")
    d.run("init", "--engine", engine, *(["--database-url", database_url] if database_url else []))
    return d


#: The team's own domain in tests: its addresses are internal.
OWN = "northwind-trading.com"


def build_sample(data_dir: Path, database_url: str | None = None) -> Dossier:
    """The bundled sample (`sample/`) imported into a new archive at ``data_dir`` (its database at
    ``database_url``, else SQLite in the data directory)."""
    d = Dossier(data_dir)
    d.run("init", "--own-domain", OWN, *(["--database-url", database_url] if database_url else []))
    d.run("customers", "import", REPO / "sample" / "customers.csv")
    d.run("import", REPO / "sample" / "mailbox", "--account", "sample")
    return d


@pytest.fixture(scope="module")
def sample(tmp_path_factory, backend: str, request: pytest.FixtureRequest) -> Iterator[Dossier]:
    """The bundled sample archive on ``backend``, shared by a module's tests that only read it."""
    with archive_database(backend, request) as url:
        yield build_sample(tmp_path_factory.mktemp("sample") / "data", url)


@pytest.fixture
def team(dossier: Dossier) -> Dossier:
    """An archive whose config names the team's own domain."""
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("own_domains = []", f'own_domains = ["{OWN}"]'))
    return dossier
