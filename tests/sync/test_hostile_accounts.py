"""Accounts as people really set them up, against a real Dovecot: a password with Chinese in it,
a password command that fails loudly, a ca_file that is not there, a host that does not resolve.
Each ends in one line that names the cause and never the secret, or simply works."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO, Dossier, make_message
from tests.timing import scaled

from .conftest import Mailbox, account_toml


def _config(dossier: Dossier, text: str) -> None:
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text() + text)


def test_a_password_outside_ascii_logs_in_with_authenticate_plain(dossier: Dossier, dovecot: Mailbox, monkeypatch):
    # A user of its own: Dovecot looks again at a passwd file changed within a second only later.
    mailbox = dovecot.server.add_mailbox(password="报价-Kennwort-ß-" + dovecot.password)
    try:
        mailbox.load_maildir("INBOX", [make_message(subject="Unicode login", message_id="<u1@x>")])
        monkeypatch.setenv("DOSSIER_TEST_IMAP_PASSWORD", mailbox.password)
        _config(dossier, account_toml(mailbox))
        assert "INBOX" in dossier.run("accounts", "test", "work").output
        dossier.run("sync")
        assert [h["subject"] for h in dossier.json("search", "unicode login")] == ["Unicode login"]
    finally:
        dovecot.server.remove_mailbox(mailbox)


def test_a_failing_password_command_shows_its_status_never_its_output(dossier: Dossier, dovecot: Mailbox):
    command = f'{sys.executable} -c \\"import sys; sys.stderr.write(\'bad entry: hunter2-secret\'); sys.exit(3)\\"'
    _config(dossier, account_toml(dovecot).replace('password_env = "DOSSIER_TEST_IMAP_PASSWORD"',
                                                   f'password_command = "{command}"'))
    result = dossier.run("accounts", "test", "work", expect=1)
    assert "password_command failed (exit 3)" in result.output and "hunter2" not in result.output
    assert len(result.output.splitlines()) == 1


def test_a_missing_ca_file_is_named(dossier: Dossier, dovecot: Mailbox, monkeypatch, tmp_path):
    monkeypatch.setenv("DOSSIER_TEST_IMAP_PASSWORD", dovecot.password)
    _config(dossier, account_toml(dovecot, security="ssl", extra=f'ca_file = "{tmp_path / "ca.pem"}"'))
    for command in (["accounts", "test", "work"], ["sync"]):
        result = dossier.run(*command, expect=1)
        assert f"ca_file {tmp_path / 'ca.pem'} does not exist" in result.output
        assert "cannot reach" not in result.output


@pytest.mark.slow
def test_a_host_that_does_not_resolve_is_named_once_per_sync(dossier: Dossier, monkeypatch):
    monkeypatch.setenv("DOSSIER_TEST_IMAP_PASSWORD", "x")
    _config(dossier, '\n[[accounts]]\nname = "typo"\nhost = "imap.no-such-host.invalid"\nusername = "anna"\n'
                     'password_env = "DOSSIER_TEST_IMAP_PASSWORD"\n')
    done = subprocess.run([sys.executable, "-m", "config.cli", "--data-dir", str(dossier.data_dir), "sync"],
                          capture_output=True, text=True, cwd=REPO, timeout=scaled(120))
    # The first retry is announced; the rest of them only with -v; the failure is the error line.
    assert done.returncode == 1 and done.stderr.count("imap.no-such-host.invalid") == 2, done.stderr
    assert done.stderr.splitlines()[-1].startswith("error: account 'typo': cannot resolve host")
