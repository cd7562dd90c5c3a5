"""Stored OAuth2 grants: private files, sealed with the raw store key when there is one, bound to
their account; and the one-line errors when one cannot be used."""

from __future__ import annotations

import stat

import pytest

from config.oauth import AuthorizationError, Grant, grant_path, load_grant, save_grant
from config.settings import ConfigError, load_settings
from tests.conftest import Dossier

REFRESH = "rt-very-secret-refresh-token"
KEY_VAR = "DOSSIER_TEST_GRANT_KEY"


def _settings(dossier: Dossier, *, key: bool):
    config = dossier.data_dir / "dossier.toml"
    text = config.read_text()
    if key:
        text = text.replace('key_env = ""', f'key_env = "{KEY_VAR}"')
    config.write_text(text + '\n[[accounts]]\nname = "anna"\nprovider = "microsoft"\nusername = "anna@x.com"\n'
                             '[accounts.oauth]\nclient_id = "app"\n')
    return load_settings(dossier.data_dir)


def test_a_grant_is_private_and_plain_without_a_key(dossier):
    settings = _settings(dossier, key=False)
    path = save_grant(settings, "anna", Grant("microsoft", "app", ("imap",), REFRESH))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_grant(settings, "anna").refresh_token == REFRESH
    assert REFRESH not in repr(load_grant(settings, "anna"))


def test_a_grant_is_sealed_with_the_raw_store_key_and_bound_to_its_account(dossier, monkeypatch):
    monkeypatch.setenv(KEY_VAR, "ab" * 32)
    settings = _settings(dossier, key=True)
    path = save_grant(settings, "anna", Grant("microsoft", "app", ("imap",), REFRESH))
    assert REFRESH.encode() not in path.read_bytes()
    assert load_grant(settings, "anna").refresh_token == REFRESH
    # Copied over another account's grant, it does not open.
    grant_path(settings, "tom").write_bytes(path.read_bytes())
    with pytest.raises(AuthorizationError, match="cannot be opened with the configured raw store key"):
        load_grant(settings, "tom")
    monkeypatch.setenv(KEY_VAR, "cd" * 32)
    with pytest.raises(AuthorizationError, match="run `dossier accounts authorize anna` again"):
        load_grant(settings, "anna")


def test_a_sealed_grant_without_the_key_and_a_missing_grant_say_what_to_do(dossier, monkeypatch):
    monkeypatch.setenv(KEY_VAR, "ab" * 32)
    save_grant(_settings(dossier, key=True), "anna", Grant("microsoft", "app", ("imap",), REFRESH))
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace(f'key_env = "{KEY_VAR}"', 'key_env = ""'))
    settings = load_settings(dossier.data_dir)
    with pytest.raises(AuthorizationError, match="sealed with the raw store key, which is not configured"):
        load_grant(settings, "anna")
    with pytest.raises(AuthorizationError, match="'bob' is not signed in yet; run `dossier accounts authorize bob`"):
        load_grant(settings, "bob")


def test_authorize_refuses_an_account_it_cannot_sign_in(dossier):
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text() + '\n[[accounts]]\nname = "gm"\nprovider = "gmail"\nusername = "a@gmail.com"\n'
                      '\n[[accounts]]\nname = "cmd"\nhost = "imap.example.com"\nusername = "a@example.com"\n'
                      'auth = "xoauth2"\ntoken_command = "oama access a"\n')
    result = dossier.run("accounts", "authorize", "gm", expect=1)
    assert "set oauth.client_id" in result.output
    result = dossier.run("accounts", "authorize", "cmd", expect=1)
    assert "gets its tokens from token_command" in result.output
    assert issubclass(AuthorizationError, ConfigError)
