"""Fixtures for the sync tests: one private Dovecot per test session and a fresh mailbox per test
(see ``dovecot.py``); tests marked ``restarts_dovecot`` get a mailbox on a second server they may
stop and start."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_installed

from .dovecot import DOVECOT, DovecotServer, Mailbox

__all__ = ["DovecotServer", "Mailbox", "account_toml"]


def _server() -> Iterator[DovecotServer]:
    require_installed(shutil.which(DOVECOT) is not None, "dovecot", "dovecot-imapd", "DOSSIER_REQUIRE_DOVECOT")
    root = Path(tempfile.mkdtemp(prefix="dossier-dovecot-"))
    server = DovecotServer(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    """The Dovecot the whole session shares; nothing may stop it."""
    yield from _server()


@pytest.fixture(scope="session")
def restartable_dovecot_server() -> Iterator[DovecotServer]:
    """A second Dovecot for the tests that drop every connection by stopping or restarting it."""
    yield from _server()


@pytest.fixture
def dovecot(request: pytest.FixtureRequest) -> Iterator[Mailbox]:
    """A fresh user (own password, Maildir and folders) on the shared server, or on the
    restartable one for a test marked ``restarts_dovecot``, running again if a test before stopped it."""
    restartable = request.node.get_closest_marker("restarts_dovecot") is not None
    server = request.getfixturevalue("restartable_dovecot_server" if restartable else "dovecot_server")
    if not server.is_running():
        server.start()
    mailbox = server.add_mailbox(restartable=restartable)
    try:
        yield mailbox
    finally:
        server.remove_mailbox(mailbox)


def account_toml(mailbox: Mailbox, *, name: str = "work", security: str = "none", extra: str = "",
                 password_env: str = "DOSSIER_TEST_IMAP_PASSWORD") -> str:
    port = mailbox.port if security != "ssl" else mailbox.ssl_port
    return f"""
[[accounts]]
name = "{name}"
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "{mailbox.user}"
password_env = "{password_env}"
{extra}
"""
