"""OAuth2 sign-in against a real Dovecot that validates bearer tokens with a local identity
provider (``oauth_provider.py``): token_command, grants stored by `accounts authorize` and
refreshed mid-pass, revoked grants, the wrong mechanism, and no token anywhere it should not be."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest
import requests
from sqlalchemy import func, select

from config.archive import Archive
from config.oauth import GrantTokens, authorize_account, forget_access_tokens, grant_path
from config.settings import load_settings
from config.sync import SyncProgress, sync
from ingest import FolderState, Message
from tests.conftest import REPO, Dossier, make_message
from tests.timing import scaled

from .conftest import Mailbox, OAuthServers, account_toml
from .dovecot import DOVEADM

CLIENT_ID = "dossier-test-client"


def _messages(count: int, start: int = 0) -> list[bytes]:
    return [make_message(subject=f"Order {n}", message_id=f"<order{n}@acme-industrial.com>",
                         sender="Li Wei <li.wei@acme-industrial.com>", body=f"Order number {n}.")
            for n in range(start, start + count)]


def _append_config(dossier: Dossier, text: str) -> None:
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text() + text)


def _oauth_account(mailbox: Mailbox, provider: str, oauth: str, *, name: str = "work", extra: str = "") -> str:
    """An account by its provider preset, with the server and the identity provider pointed at
    the local ones: explicit keys override the preset."""
    return f"""
[[accounts]]
name = "{name}"
provider = "{provider}"
host = "127.0.0.1"
port = {mailbox.port}
security = "none"
username = "{mailbox.user}"
{extra}
[accounts.oauth]
client_id = "{CLIENT_ID}"
{oauth}
"""


def _microsoft_account(mailbox: Mailbox, servers: OAuthServers) -> str:
    return _oauth_account(mailbox, "microsoft", f'authority = "{servers.authority}"\nca_file = "{servers.cert}"')


def _token_file_command(tmp_path, token: str) -> str:
    path = tmp_path / "token.txt"
    path.write_text(token + "\n")
    return f"cat {path}"


@pytest.fixture(autouse=True)
def _no_cached_tokens():
    forget_access_tokens()
    yield
    forget_access_tokens()


@pytest.mark.parametrize("auth", ["xoauth2", "oauthbearer"])
def test_sync_with_a_token_command(dossier, oauth_dovecot, oauth_servers, tmp_path, auth):
    oauth_dovecot.append("INBOX", _messages(5))
    token = oauth_servers.provider.issue(oauth_dovecot.user)["access_token"]
    _append_config(dossier, account_toml(oauth_dovecot).replace(
        'password_env = "DOSSIER_TEST_IMAP_PASSWORD"',
        f'auth = "{auth}"\ntoken_command = "{_token_file_command(tmp_path, token)}"'))
    asked = oauth_servers.provider.introspections
    report = dossier.json("sync")
    assert report["errors"] == 0 and report["stored"] == 5
    assert oauth_servers.provider.introspections > asked  # Dovecot validated the bearer token
    # A token of another user is refused by the server: one line saying what to check.
    other = oauth_servers.provider.issue("someone.else@northwind-trading.com")["access_token"]
    (tmp_path / "token.txt").write_text(other + "\n")
    result = dossier.run("accounts", "test", "work", expect=1)
    assert "login as" in result.output and "token_command prints a current access token" in result.output
    assert other not in result.output and "Traceback" not in result.output


def test_authorize_with_the_device_code_then_sync_refreshing_the_token_mid_pass(
        dossier, oauth_dovecot, oauth_servers, monkeypatch):
    monkeypatch.setattr("ingest.imap.FETCH_COUNT", 10)
    provider = oauth_servers.provider
    oauth_dovecot.append("INBOX", _messages(30))
    _append_config(dossier, _microsoft_account(oauth_dovecot, oauth_servers))
    before = provider.refreshes

    result = dossier.run("accounts", "authorize", "work")
    assert "enter the code" in result.stderr and "Signed in" in result.stdout
    path = grant_path(load_settings(dossier.data_dir), "work")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = path.read_bytes()

    settings = load_settings(dossier.data_dir)
    archive = Archive(settings)

    class ExpireAndDrop(SyncProgress):
        """After the first batch: every access token expires and the server drops the session,
        as Exchange Online does ("Session invalidated - AccessTokenExpired")."""

        batches = 0

        def advance(self, count):
            self.batches += 1
            if self.batches == 1:
                provider.expire_access_tokens()
                subprocess.run([DOVEADM, "-c", str(oauth_dovecot.server.conf), "kick", oauth_dovecot.user],
                               check=True, capture_output=True)

    report = sync(archive, settings.accounts, progress=ExpireAndDrop(), retries=3, backoff=0.1)
    assert report.errors == []
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 30
        assert session.scalar(select(FolderState.last_uid).where(FolderState.folder == "INBOX")) == 30
    archive.close()
    # One refresh to start the pass, one after the server refused the expired token.
    assert provider.refreshes - before == 2
    # The provider rotates refresh tokens: the stored grant holds the newest one.
    assert path.read_bytes() != stored
    assert dossier.json("sync")["errors"] == 0


def test_a_revoked_grant_is_one_line_naming_the_account_and_the_fix(dossier, oauth_dovecot, oauth_servers):
    _append_config(dossier, _microsoft_account(oauth_dovecot, oauth_servers))
    dossier.run("accounts", "authorize", "work")
    oauth_servers.provider.revoke(oauth_dovecot.user)
    forget_access_tokens()
    for args in (("sync",), ("accounts", "test", "work")):
        result = dossier.run(*args, expect=1)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "account 'work'" in lines[0] and "revoked or has expired" in lines[0]
        assert "`dossier accounts authorize work`" in lines[0]
    # `dossier status` shows it as the account's error until a pass signs in again.
    errors = [s["error"] for s in dossier.json("status")["sync"] if s["account"] == "work" and s["folder"] == ""]
    assert errors and "revoked or has expired" in errors[0]


def test_an_account_not_authorised_yet_says_which_command_signs_it_in(dossier, oauth_dovecot, oauth_servers):
    _append_config(dossier, _microsoft_account(oauth_dovecot, oauth_servers))
    result = dossier.run("accounts", "test", "work", expect=1)
    assert "account 'work' is not signed in yet; run `dossier accounts authorize work`" in result.output


def test_a_mechanism_the_server_does_not_offer(dossier, dovecot, oauth_servers, tmp_path):
    # The shared Dovecot offers PLAIN and LOGIN only.
    token = oauth_servers.provider.issue(dovecot.user)["access_token"]
    _append_config(dossier, account_toml(dovecot).replace(
        'password_env = "DOSSIER_TEST_IMAP_PASSWORD"',
        f'auth = "xoauth2"\ntoken_command = "{_token_file_command(tmp_path, token)}"'))
    result = dossier.run("accounts", "test", "work", expect=1)
    assert "does not offer XOAUTH2 sign-in (it offers LOGIN, PLAIN)" in result.output
    assert 'set auth = "password"' in result.output and token not in result.output


def test_google_installed_app_flow_stores_a_grant_that_signs_in(dossier, oauth_dovecot, oauth_servers):
    base = oauth_servers.base
    _append_config(dossier, _oauth_account(oauth_dovecot, "gmail", f"""client_secret = "not-a-secret-for-installed-apps"
auth_uri = "{base}/authorize"
token_uri = "{base}/token"
ca_file = "{oauth_servers.cert}"
""", name="gmail", extra='folders = ["INBOX"]'))
    settings = load_settings(dossier.data_dir)
    visits: list[threading.Thread] = []

    def browser(text: str) -> None:
        # The person's browser: opens the consent page, which sends it back to Dossier's local port.
        url = text.splitlines()[-1]
        thread = threading.Thread(target=requests.get, args=(url,),
                                  kwargs={"verify": str(oauth_servers.cert), "timeout": scaled(30)})
        thread.start()
        visits.append(thread)

    path = authorize_account(settings, "gmail", tell=browser, open_browser=False, timeout=scaled(60))
    for thread in visits:
        thread.join()
    assert path.exists()
    token = GrantTokens(settings, settings.account("gmail")).token()
    assert oauth_servers.provider.is_valid(token) == oauth_dovecot.user
    oauth_dovecot.append("INBOX", _messages(2))
    assert dossier.json("sync")["stored"] == 2


def test_too_many_connections_is_named(dossier, oauth_dovecot, monkeypatch):
    monkeypatch.setenv("DOSSIER_TEST_IMAP_PASSWORD", oauth_dovecot.password)
    _append_config(dossier, account_toml(oauth_dovecot))
    held = [oauth_dovecot.client() for _ in range(4)]  # the server allows four per user and address
    try:
        result = dossier.run("accounts", "test", "work", expect=1)
    finally:
        for client in held:
            client.logout()
    assert "too many are open for this account" in result.output and "Traceback" not in result.output


def test_tokens_never_reach_a_file_of_the_data_directory_or_the_logs(dossier, oauth_dovecot, oauth_servers):
    key = "DOSSIER_TEST_RAW_KEY"
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace('key_env = ""', f'key_env = "{key}"')
                      + _microsoft_account(oauth_dovecot, oauth_servers))
    oauth_dovecot.append("INBOX", _messages(3))
    env = {**os.environ, key: "11" * 32}

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "config.cli", "-vv", "--data-dir", str(dossier.data_dir), *args],
                              capture_output=True, text=True, env=env, cwd=REPO, timeout=scaled(120))
        assert "Traceback" not in done.stderr, done.stderr
        return done.stdout + done.stderr

    outputs = [run("accounts", "authorize", "work", "--no-browser"), run("sync"), run("accounts", "test", "work"),
               run("status"), run("accounts", "list", "--json")]
    assert "DEBUG" in "".join(outputs)  # debug logging really was on
    oauth_servers.provider.expire_access_tokens()
    outputs.append(run("sync"))  # a refresh after the server refused the expired token
    assert "Synced" in outputs[-1]
    issued = oauth_servers.provider.secrets_issued()
    assert issued
    for out in outputs:
        for secret in issued:
            assert secret not in out
    files = [p for p in dossier.data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".grant" for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in issued:
            assert secret.encode() not in data, path


def test_a_download_limit_mid_pass_keeps_the_cursor_and_the_next_pass_resumes(dossier, dovecot, monkeypatch):
    """Gmail answers FETCH with "[OVERQUOTA] Account exceeded command or bandwidth limits" once the
    day's 2,500 MB are fetched; here the real server's answer to the third body FETCH is replaced
    by that refusal."""
    import imaplib

    from imapclient import IMAPClient

    monkeypatch.setenv("DOSSIER_TEST_IMAP_PASSWORD", dovecot.password)
    monkeypatch.setattr("ingest.imap.FETCH_COUNT", 10)
    _append_config(dossier, account_toml(dovecot))
    dovecot.append("INBOX", _messages(40))
    fetch, bodies = IMAPClient.fetch, []

    def limited(self, messages, data, *args, **kwargs):
        if b"BODY.PEEK[]" in data:
            bodies.append(messages)
            if len(bodies) == 3:
                raise imaplib.IMAP4.error("[OVERQUOTA] Account exceeded command or bandwidth limits. (Failure)")
        return fetch(self, messages, data, *args, **kwargs)

    monkeypatch.setattr(IMAPClient, "fetch", limited)
    result = dossier.run("sync", expect=1)
    assert "download limit reached" in result.stderr and "next pass resumes" in result.stderr
    settings = load_settings(dossier.data_dir)
    archive = Archive(settings)
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 20
        assert session.scalar(select(FolderState.last_uid).where(FolderState.folder == "INBOX")) == 20
    archive.close()
    monkeypatch.setattr(IMAPClient, "fetch", fetch)
    report = dossier.json("sync")
    assert report["fetched"] == 20 and report["stored"] == 20 and report["errors"] == 0
