"""Adding an ``[[accounts]]`` table to ``dossier.toml`` (``dossier accounts add``), keeping every
comment and key already there (tomlkit)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .settings import ConfigError, check_config, replace_file

#: The order keys are written in, as in dossier.example.toml; the oauth table comes last.
_ORDER = ("name", "provider", "host", "port", "security", "username", "auth", "password_env", "password_command",
          "token_command", "folders", "exclude_folders", "ca_file", "interval", "timeout")


def account_name_for(address: str) -> str:
    """A short account name for ``address``: its local part, in letters, digits, ``.``, ``_``, ``-``."""
    local = address.partition("@")[0].strip().lower()
    return re.sub(r"[^a-z0-9._-]+", "-", local).strip("-") or "mail"


def add_account(config_path: Path, table: Mapping[str, Any]) -> None:
    """Append ``table`` as a new ``[[accounts]]`` table to the config at ``config_path``, keeping
    its comments and formatting. The whole config is checked as ``load_settings`` would before it
    is written (to a temporary file renamed into place, private to the owner).
    Raises ConfigError when the account is invalid or its name taken, or the file cannot be written."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
        document = tomlkit.parse(text)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {config_path}: {exc.strerror or exc}") from None
    except TOMLKitError as exc:
        raise ConfigError(f"config file {config_path} is not valid TOML: {exc}") from None
    accounts = document.get("accounts")
    if accounts is None:
        accounts = tomlkit.aot()
        document.append("accounts", accounts)
    elif not isinstance(accounts, list):
        raise ConfigError(f"{config_path}: accounts must be written as [[accounts]] tables")
    name = str(table.get("name", ""))
    if any(str(existing.get("name", "")).strip() == name for existing in accounts):
        raise ConfigError(f"{config_path}: an account named {name!r} exists already; choose another name")
    new = tomlkit.table()
    for key in sorted(table, key=lambda k: _ORDER.index(k) if k in _ORDER else len(_ORDER)):
        value = table[key]
        if value in ("", None, [], {}):
            continue
        new[key] = dict(value) if isinstance(value, Mapping) else value
    accounts.append(new)
    rendered = tomlkit.dumps(document)
    check_config(rendered, config_path)
    _write(config_path, rendered)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, text.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror or exc}") from None
