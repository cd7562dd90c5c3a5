"""Provider presets for ``[[accounts]]``: the facts of ``data/providers.toml`` and filling an account from them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data") / "providers.toml"

#: The keys a preset may fill in an ``[[accounts]]`` table.
FILLED_KEYS = ("host", "port", "security", "folders", "exclude_folders")
#: The keys that name a password (as opposed to an OAuth2 token).
PASSWORD_KEYS = ("password_env", "password_command", "password")


@dataclass(frozen=True)
class Preset:
    """One provider: where its IMAP server is, how it signs in, and where those facts come from."""

    name: str
    title: str
    domains: tuple[str, ...]
    host: str
    port: int
    security: str
    auth: str  # the sign-in of an account that gives no password key
    folders: tuple[str, ...]
    exclude_folders: tuple[str, ...]
    secret: str  # which secret the provider wants, in words
    enable: str  # what to turn on at the provider first
    sources: tuple[str, ...]
    oauth: dict[str, Any]  # kind, scopes, authority / auth_uri + token_uri; empty without OAuth2

    @property
    def has_oauth(self) -> bool:
        return bool(self.oauth)


@functools.cache
def presets() -> dict[str, Preset]:
    """Every preset of the data file, by name."""
    import tomllib

    with DATA.open("rb") as fh:
        raw = tomllib.load(fh)
    return {
        name: Preset(
            name=name, title=entry["title"], domains=tuple(entry.get("domains", ())), host=entry["host"],
            port=int(entry["port"]), security=entry["security"], auth=entry["auth"],
            folders=tuple(entry.get("folders", ("*",))), exclude_folders=tuple(entry.get("exclude_folders", ())),
            secret=entry["secret"], enable=entry["enable"], sources=tuple(entry["sources"]),
            oauth=dict(entry.get("oauth", {})),
        )
        for name, entry in raw.items()
    }


def preset_for_address(address: str) -> Preset | None:
    """The preset whose domains include the domain of ``address`` (``li@163.com`` -> 163), if any."""
    domain = address.rpartition("@")[2].strip().lower()
    for preset in presets().values():
        if domain in preset.domains:
            return preset
    return None


class UnknownProvider(ValueError):
    """``provider`` names no preset."""


def apply_preset(table: dict[str, Any]) -> dict[str, Any]:
    """The ``[[accounts]]`` table with its provider's preset filled in: the preset's server and
    folder rules where the table sets none, ``auth`` from the preset when the table gives no
    password key, and the ``oauth`` table merged over the preset's. A table without ``provider``
    only gets ``auth = "password"`` as default. Raises UnknownProvider."""
    merged = dict(table)
    name = table.get("provider", "")
    if not name:
        merged.setdefault("auth", "password")
        return merged
    preset = presets().get(str(name).lower())
    if preset is None:
        raise UnknownProvider(f"unknown provider {name!r}; known providers: {', '.join(presets())}")
    for key in FILLED_KEYS:
        if key not in merged:
            value = getattr(preset, key)
            merged[key] = list(value) if isinstance(value, tuple) else value
    if "auth" not in merged:
        gives_password = any(table.get(key) for key in PASSWORD_KEYS)
        merged["auth"] = "password" if gives_password or not preset.has_oauth else preset.auth
    if preset.has_oauth:
        merged["oauth"] = {**preset.oauth, **table.get("oauth", {})}
    return merged
