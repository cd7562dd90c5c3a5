"""Fixtures for the sync tests: a private Dovecot per test (see ``dovecot.py``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .dovecot import DOVECOT, PASSWORD, USER, Dovecot

__all__ = ["PASSWORD", "USER", "Dovecot", "account_toml"]


@pytest.fixture
def dovecot():
    if shutil.which(DOVECOT) is None:
        message = "dovecot is not installed: run the README's test command (it installs dovecot-imapd)"
        if os.environ.get("DOSSIER_REQUIRE_DOVECOT"):
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="dossier-dovecot-"))
    server = Dovecot(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def account_toml(server: Dovecot, *, name: str = "work", security: str = "none", extra: str = "") -> str:
    port = server.port if security != "ssl" else server.ssl_port
    return f"""
[[accounts]]
name = "{name}"
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "{USER}"
password_env = "DOSSIER_TEST_IMAP_PASSWORD"
{extra}
"""
