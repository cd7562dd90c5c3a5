"""Provider presets: each resolves into settings (no network), explicit keys win, the facts carry
their sources, and the README's table names every preset."""

from __future__ import annotations

import os

import pytest

from config.providers import presets
from config.settings import ConfigError, load_settings
from tests.conftest import REPO, Dossier

#: The providers the issue asks for, by preset name.
REQUIRED = ("gmail", "microsoft", "qq", "exmail", "163", "126", "yeah", "aliyun", "sina", "sohu", "zoho", "yahoo",
            "icloud")


def _load(dossier: Dossier, text: str):
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text() + text)
    os.chmod(config, 0o600)
    return load_settings(dossier.data_dir)


@pytest.mark.parametrize("name", sorted(presets()))
def test_each_preset_resolves_into_an_account_from_name_provider_username_and_a_secret(dossier, name):
    preset = presets()[name]
    account = _load(dossier, f"""
[[accounts]]
name = "rep"
provider = "{name}"
username = "rep@example.com"
password_env = "REP_SECRET"
""").account("rep")
    assert (account.host, account.port, account.security) == (preset.host, preset.port, preset.security)
    assert account.provider == name and account.auth == "password"  # a password key: that password
    assert account.folders == preset.folders and account.exclude_folders == preset.exclude_folders
    assert preset.sources and all(source.strip() for source in preset.sources)
    assert preset.secret and preset.enable and preset.title


def test_every_required_provider_has_a_preset_and_a_readme_row():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in REQUIRED:
        assert name in presets()
    for name in presets():
        assert f"`{name}`" in readme, f"README's provider table lacks {name}"


def test_oauth_providers_sign_in_with_oauth2_unless_a_password_is_given(dossier):
    settings = _load(dossier, """
[[accounts]]
name = "ms"
provider = "microsoft"
username = "rep@northwind-trading.com"
[accounts.oauth]
client_id = "my-app"

[[accounts]]
name = "gm"
provider = "gmail"
username = "rep@gmail.com"
password_env = "GMAIL_APP_PASSWORD"
""")
    ms, gm = settings.account("ms"), settings.account("gm")
    assert ms.auth == "xoauth2" and ms.oauth.kind == "microsoft" and ms.oauth.client_id == "my-app"
    assert ms.oauth.authority == "https://login.microsoftonline.com/common"
    assert ms.oauth.scopes == ("https://outlook.office.com/IMAP.AccessAsUser.All",)
    assert gm.auth == "password" and gm.password_env == "GMAIL_APP_PASSWORD"
    listed = {row["name"]: row for row in dossier.json("accounts", "list")}
    assert (listed["ms"]["provider"], listed["ms"]["auth"]) == ("microsoft", "xoauth2")
    assert "outlook.office365.com:993 (ssl, xoauth2)" in dossier.run("accounts", "list").output
    # Gmail: All Mail by its SPECIAL-USE flag, once, instead of every label as a folder.
    assert gm.folders == ("\\All",) and gm.oauth.token_uri == "https://oauth2.googleapis.com/token"


def test_explicit_keys_override_the_preset(dossier):
    account = _load(dossier, '\n[[accounts]]\nname = "zoho-eu"\nprovider = "zoho"\nhost = "imap.zoho.eu"\n'
                    'username = "rep@example.eu"\npassword_command = "pass show zoho"\n'
                    'folders = ["INBOX", "Customers/*"]\n').account("zoho-eu")
    assert (account.host, account.port) == ("imap.zoho.eu", 993)
    assert account.folders == ("INBOX", "Customers/*")


@pytest.mark.parametrize("extra, message", [
    ('provider = "hotmale"\npassword_env = "X"\n', "unknown provider 'hotmale'; known providers: gmail, microsoft"),
    ('host = "imap.example.com"\nauth = "xoauth2"\n', "needs an access token: give token_command"),
    ('host = "imap.example.com"\nauth = "xoauth2"\npassword_env = "X"\n', "password_env gives a password"),
    ('host = "imap.example.com"\ntoken_command = "oama access rep"\n', "set auth = \"xoauth2\""),
    ('host = "imap.example.com"\nauth = "kerberos"\npassword_env = "X"\n', "auth must be one of"),
    ('provider = "gmail"\n[accounts.oauth]\nclient_ids = "x"\n', "unknown key 'client_ids' in oauth"),
    ('username2 = "x"\n', "unknown key 'username2'"),
])
def test_bad_oauth_and_provider_settings_are_one_line(dossier, extra, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _load(dossier, f'\n[[accounts]]\nname = "rep"\nusername = "rep@example.com"\n{extra}')


def test_a_token_command_account_needs_no_provider(dossier):
    account = _load(dossier, '\n[[accounts]]\nname = "rep"\nhost = "imap.example.com"\nusername = "rep@example.com"\n'
                    'auth = "oauthbearer"\ntoken_command = "oama access rep@example.com"\n').account("rep")
    assert account.auth == "oauthbearer" and account.token_command and account.oauth is None
