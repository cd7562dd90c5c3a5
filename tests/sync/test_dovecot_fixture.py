"""The shared Dovecot keeps tests apart: each test's mailbox is empty, private and cannot stop the server."""

from __future__ import annotations

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.conftest import make_message
from tests.timing import scaled

from .conftest import DovecotServer, Mailbox


def test_each_mailbox_is_empty_and_private(dovecot: Mailbox, dovecot_server: DovecotServer):
    other = dovecot_server.add_mailbox()
    try:
        other.append("INBOX", [make_message(subject="not yours")])
        other.append("Customers/Acme", [make_message(subject="nor this")])
        assert dovecot.user != other.user and dovecot.password != other.password
        assert dovecot.flags() == {}  # nothing of the other user's mail
        with dovecot.client() as client:
            assert "Customers/Acme" not in {name for _, _, name in client.list_folders()}
        with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=scaled(10)) as client:
            with pytest.raises(LoginError):
                client.login(dovecot.user, other.password)
    finally:
        dovecot_server.remove_mailbox(other)


def test_a_test_not_marked_restarts_dovecot_cannot_stop_the_shared_server(dovecot: Mailbox):
    with pytest.raises(RuntimeError, match="restarts_dovecot"):
        dovecot.stop()
    assert dovecot.server.is_running()
    with dovecot.client() as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
