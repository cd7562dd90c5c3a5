"""Shared fixtures: a fresh data directory and a CLI runner bound to it, and a message builder."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.timing import VARIABLE, time_factor

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"


def pytest_configure(config: pytest.Config) -> None:
    try:
        time_factor()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> str:
    return f"wall-clock bounds scaled by {time_factor():g} (${VARIABLE})"


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
ENGINES = ("tantivy", "whoosh")


@pytest.fixture
def engine() -> str:
    """The engine of the archives a test makes: the default one, unless a module asks for others."""
    return ENGINES[0]


@pytest.fixture
def dossier(tmp_path: Path, engine: str) -> Dossier:
    d = Dossier(tmp_path / "data")
    d.run("init", "--engine", engine)
    return d


#: The team's own domain in tests: its addresses are internal.
OWN = "northwind-trading.com"


def build_sample(data_dir: Path) -> Dossier:
    """The bundled sample (`sample/`) imported into a new archive at ``data_dir``."""
    d = Dossier(data_dir)
    d.run("init", "--own-domain", OWN)
    d.run("customers", "import", REPO / "sample" / "customers.csv")
    d.run("import", REPO / "sample" / "mailbox", "--account", "sample")
    return d


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Dossier:
    """The bundled sample archive, shared by a module's tests that only read it."""
    return build_sample(tmp_path_factory.mktemp("sample") / "data")


@pytest.fixture
def team(dossier: Dossier) -> Dossier:
    """An archive whose config names the team's own domain."""
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("own_domains = []", f'own_domains = ["{OWN}"]'))
    return dossier
