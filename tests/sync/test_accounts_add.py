"""`dossier accounts add`: scripted answers and flags write an [[accounts]] table into dossier.toml,
every comment kept, then log in as `accounts test` does (against a real Dovecot)."""

from __future__ import annotations

import stat

from config.settings import load_settings
from tests.conftest import Dossier

from .conftest import Mailbox


def _config(dossier: Dossier) -> str:
    return (dossier.data_dir / "dossier.toml").read_text(encoding="utf-8")


def test_interactive_set_up_of_a_chinese_provider_keeps_the_config_comments(dossier):
    before = _config(dossier)
    # Address, provider (suggested from the domain), name, how to sign in, where the password comes from.
    answers = "li.wei@163.com\n\n\npassword\nenv\nDOSSIER_163_CODE\n"
    result = dossier.run("accounts", "add", "--no-test", input=answers)
    assert "other) [163]:" in result.output  # suggested from the address
    assert "授权码" in result.output  # what this provider wants, said before asking
    after = _config(dossier)
    comments = [line for line in before.splitlines() if line.startswith("#")]
    assert all(line in after.splitlines() for line in comments)  # every comment kept
    assert after.startswith(before.rstrip("\n"))
    account = load_settings(dossier.data_dir).account("li.wei")
    assert (account.provider, account.host, account.port, account.username) == ("163", "imap.163.com", 993,
                                                                                  "li.wei@163.com")
    assert account.password_env == "DOSSIER_163_CODE" and account.auth == "password"
    assert stat.S_IMODE((dossier.data_dir / "dossier.toml").stat().st_mode) == 0o600


def test_flags_add_an_account_and_test_it_against_the_server(dossier, dovecot: Mailbox, monkeypatch):
    monkeypatch.setenv("DOSSIER_TEST_IMAP_PASSWORD", dovecot.password)
    dovecot.append("INBOX", [b"Subject: hi\r\n\r\nhello\r\n"])
    result = dossier.run("accounts", "add", "--address", dovecot.user, "--provider", "other", "--name", "work",
                         "--host", "127.0.0.1", "--port", str(dovecot.port), "--security", "none",
                         "--password-env", "DOSSIER_TEST_IMAP_PASSWORD")
    assert "Added account 'work'" in result.output
    assert f"Logged in to 127.0.0.1:{dovecot.port} as {dovecot.user}" in result.output
    assert "INBOX" in result.output
    # The account is there for every other command.
    assert dossier.json("accounts", "list")[0]["name"] == "work"
    assert dossier.json("sync")["stored"] == 1


def test_an_oauth_provider_is_added_for_authorize(dossier):
    result = dossier.run("accounts", "add", "--address", "anna@northwind-trading.com", "--provider", "microsoft",
                         "--client-id", "00000000-1111-2222-3333-444444444444", input="\nauthorize\n")
    assert "Next: `dossier accounts authorize anna` signs it in" in result.output
    account = load_settings(dossier.data_dir).account("anna")
    assert account.auth == "xoauth2" and account.oauth.client_id == "00000000-1111-2222-3333-444444444444"
    assert account.host == "outlook.office365.com"
    assert "[accounts.oauth]" in _config(dossier)


def test_a_taken_name_or_an_invalid_account_is_refused_and_nothing_written(dossier):
    dossier.run("accounts", "add", "--address", "rep@qq.com", "--provider", "qq", "--name", "rep",
                "--password-env", "QQ_CODE", "--no-test")
    before = _config(dossier)
    result = dossier.run("accounts", "add", "--address", "rep@126.com", "--provider", "126", "--name", "rep",
                         "--password-env", "X", "--no-test", expect=1)
    assert "an account named 'rep' exists already" in result.output
    result = dossier.run("accounts", "add", "--address", "x@example.com", "--provider", "other", "--name", "x",
                         "--host", "imap.example.com", "--security", "none", "--password-env", "X", "--no-test",
                         expect=1)
    assert "allowed only for 127.0.0.1" in result.output
    assert _config(dossier) == before
