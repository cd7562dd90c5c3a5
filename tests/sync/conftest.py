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
from .oauth_provider import OAuthServers

__all__ = ["DovecotServer", "Mailbox", "OAuthServers", "account_toml"]


def _server(**options) -> Iterator[DovecotServer]:
    require_installed(shutil.which(DOVECOT) is not None, "dovecot", "dovecot-imapd", "DOSSIER_REQUIRE_DOVECOT")
    root = Path(tempfile.mkdtemp(prefix="dossier-dovecot-"))
    server = DovecotServer(root, **options)
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


@pytest.fixture(scope="session")
def oauth_servers(tmp_path_factory) -> Iterator[OAuthServers]:
    """The local OAuth2 provider (token, device and authorisation endpoints over HTTPS) and the
    token validation endpoint Dovecot asks (``oauth_provider.py``)."""
    servers = OAuthServers(tmp_path_factory.mktemp("oauth"))
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="session")
def oauth_dovecot_server(oauth_servers: OAuthServers) -> Iterator[DovecotServer]:
    """A Dovecot that also signs users in with XOAUTH2 / OAUTHBEARER against ``oauth_servers``,
    and allows four sessions per user (to meet the limit on purpose)."""
    yield from _server(oauth_url=oauth_servers.validation_url, max_connections=4)


@pytest.fixture
def oauth_dovecot(oauth_dovecot_server: DovecotServer, oauth_servers: OAuthServers) -> Iterator[Mailbox]:
    """A fresh user on the OAuth2 Dovecot; the provider signs in as this user."""
    if not oauth_dovecot_server.is_running():
        oauth_dovecot_server.start()
    mailbox = oauth_dovecot_server.add_mailbox()
    oauth_servers.provider.person = mailbox.user
    try:
        yield mailbox
    finally:
        oauth_dovecot_server.remove_mailbox(mailbox)


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
