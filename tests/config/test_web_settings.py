"""The config's [web] and [customers] sections and an account's owner: read when right, one clear line when wrong."""

from __future__ import annotations

import pytest

from config.settings import ConfigError, load_settings
from tests.conftest import Dossier


def write(dossier: Dossier, text: str) -> None:
    (dossier.data_dir / "dossier.toml").write_text(text)


def test_web_and_customers_settings_are_read(dossier: Dossier):
    write(dossier, '[web]\nlisten = "127.0.0.1:8500"\nproxies = ["127.0.0.1", "10.0.0.0/8"]\n'
                   'timezone = "Asia/Shanghai"\n[customers]\ndormant_days = 60\n'
                   '[[accounts]]\nname = "anna"\nhost = "imap.example.com"\nusername = "a"\n'
                   'password_env = "X"\nowner = " anna@northwind-trading.com "\n')
    settings = load_settings(dossier.data_dir)
    assert (settings.web_listen, settings.web_proxies, settings.web_timezone, settings.dormant_days) == (
        "127.0.0.1:8500", ("127.0.0.1", "10.0.0.0/8"), "Asia/Shanghai", 60)
    assert settings.accounts[0].owner == "anna@northwind-trading.com"


@pytest.mark.parametrize(("text", "message"), [
    ('[web]\nlisten = "8400"\n', '[web] listen must be HOST:PORT, like "127.0.0.1:8400"'),
    ('[web]\nproxies = ["nginx"]\n', "[web] proxies: 'nginx' is not an IP address or network"),
    ('[web]\ntimezone = "Mars/Olympus"\n', "[web] timezone 'Mars/Olympus' is not a time zone"),
    ('[customers]\ndormant_days = 0\n', "[customers] dormant_days must be at least 1"),
])
def test_a_wrong_web_setting_is_one_line_naming_it(dossier: Dossier, text: str, message: str):
    write(dossier, text)
    with pytest.raises(ConfigError) as refused:
        load_settings(dossier.data_dir)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_dossier_web_on_a_port_in_use_says_so_in_one_line(dossier: Dossier):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = dossier.run("web", "--port", str(port), expect=1)
    assert result.output.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use; choose another port "
        "(--port or [web] listen) or stop what uses it"]
