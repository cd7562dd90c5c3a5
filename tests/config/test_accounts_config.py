"""[[accounts]] in dossier.toml: what is accepted, and the one-line refusals."""

from __future__ import annotations

import os

import pytest

from config.settings import ConfigError, load_settings
from config.sync import resolve_password
from tests.conftest import Dossier

ACCOUNT = """
[[accounts]]
name = "work"
host = "imap.example.com"
username = "rep@example.com"
"""


def _load(dossier: Dossier, text: str, mode: int = 0o600):
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text() + text)
    os.chmod(config, mode)
    return load_settings(dossier.data_dir)


def test_accounts_are_read_with_defaults(dossier):
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace('nightly = "02:30"', 'nightly = "03:15"'))
    settings = _load(dossier, ACCOUNT + 'password_env = "WORK_PW"\nfolders = ["INBOX", "Customers/*"]\n')
    account = settings.account("work")
    assert (account.port, account.security, account.interval) == (993, "ssl", 15.0)
    assert account.folders == ("INBOX", "Customers/*")
    assert settings.nightly == "15 3 * * *"


@pytest.mark.parametrize("extra, message", [
    ("", "give password_env"),
    ('password_env = "A"\npassword_command = "pass show x"\n', "give only one of"),
    ('password_env = "A"\nsecurity = "none"\n', "allowed only for 127.0.0.1"),
    ('password_env = "A"\nsecurity = "tls"\n', "security must be ssl, starttls or none"),
    ('password_env = "A"\nport = "993"\n', "port has the wrong type"),
    ('password_env = "A"\npasword = "x"\n', "unknown key 'pasword'"),
])
def test_bad_accounts_are_refused_in_one_line(dossier, extra, message):
    with pytest.raises(ConfigError, match=message):
        _load(dossier, ACCOUNT + extra)


def test_a_plain_password_in_a_file_others_can_read_is_refused(dossier):
    with pytest.raises(ConfigError, match="readable by others"):
        _load(dossier, ACCOUNT + 'password = "hunter2"\n', mode=0o644)
    result = dossier.run("accounts", "list", expect=1)
    assert "readable by others" in result.output and "hunter2" not in result.output


def test_password_from_environment_or_command(dossier, monkeypatch):
    settings = _load(dossier, ACCOUNT + 'password_command = "printf \'s3cret\\\\n\'"\n')
    assert resolve_password(settings.account("work")) == "s3cret"
    failing = _load(dossier, "").account("work").__class__(
        name="x", host="h", username="u", password_command="echo nope >&2; exit 3")
    with pytest.raises(ConfigError, match=r"password_command failed \(exit 3\)") as info:
        resolve_password(failing)
    assert "nope" not in str(info.value)  # what it printed may hold the secret
    env = failing.__class__(name="x", host="h", username="u", password_env="DOSSIER_T_PW")
    monkeypatch.delenv("DOSSIER_T_PW", raising=False)
    with pytest.raises(ConfigError, match="DOSSIER_T_PW is not set"):
        resolve_password(env)


def test_unknown_account_name_lists_the_configured_ones(dossier):
    _load(dossier, ACCOUNT + 'password_env = "A"\n')
    result = dossier.run("sync", "--account", "home", expect=1)
    assert "no account named 'home'" in result.output and "accounts: work" in result.output
