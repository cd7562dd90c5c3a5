"""Settings: where the data directory is, what ``dossier.toml`` says, and checking both."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .runtime import CONFIG_NAME, DB_NAME, INDEX_DIR, RAW_DIR, locate, loose_permissions  # noqa: F401 (API)

TEMPLATE = Path(__file__).with_name("dossier.example.toml")


class ConfigError(Exception):
    """Root of the errors ``config`` raises: the configuration, the data directory or what a
    command asked for is wrong; the message says how to fix it."""


@dataclass(frozen=True)
class OAuthSettings:
    """An account's ``[accounts.oauth]`` table (over its provider's preset): how ``dossier accounts
    authorize`` signs in and how the stored grant is refreshed."""

    kind: str  # "microsoft" (msal) or "google" (google-auth-oauthlib)
    client_id: str = ""
    client_secret: str = field(default="", repr=False)  # Google's installed-app secret (not confidential)
    scopes: tuple[str, ...] = ()
    authority: str = ""  # microsoft: https://login.microsoftonline.com/<tenant>
    auth_uri: str = ""  # google
    token_uri: str = ""  # google
    ca_file: str = ""  # a CA to trust for the identity provider (a private one)


@dataclass(frozen=True)
class AccountSettings:
    """One ``[[accounts]]`` table: an IMAP mailbox to archive. Never holds a password itself."""

    name: str
    host: str
    username: str
    port: int = 993
    security: str = "ssl"
    password_env: str = ""
    password_command: str = ""
    password: str = field(default="", repr=False)  # only tolerated in a file private to its owner
    folders: tuple[str, ...] = ("*",)
    exclude_folders: tuple[str, ...] = ()
    ca_file: str = ""
    interval: float = 15.0  # minutes between scheduled syncs
    timeout: float = 60.0  # seconds
    provider: str = ""  # the preset it was filled from (config/data/providers.toml)
    auth: str = "password"  # password | xoauth2 | oauthbearer
    token_command: str = ""  # prints an OAuth2 access token
    oauth: OAuthSettings | None = None  # for `dossier accounts authorize` and its stored grant
    owner: str = ""  # the rep whose mailbox it is: their scope in the web front end includes its mail


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    config_path: Path
    database_url: str
    own_domains: tuple[str, ...] = ()
    own_addresses: tuple[str, ...] = ()
    freemail_add: tuple[str, ...] = ()
    freemail_remove: tuple[str, ...] = ()
    batch_size: int = 200
    fsync: bool = True
    #: [import] workers: processes that read new messages beside the importing one (0: it reads
    #: them itself); unset, one per CPU when there are several (see config.readers).
    workers: int | None = None
    #: [import] parser: who builds each message's tree (ingest.PARSERS).
    parser: str = "mail-parser"
    accounts: tuple[AccountSettings, ...] = ()
    nightly: str = "30 2 * * *"
    raw_key_env: str = ""  # [raw_store] key_env: the variable holding the encryption key
    raw_key_file: str = ""  # [raw_store] key_file: a file holding it
    index_engine: str = "tantivy"  # [index] engine: the engine a new index is created with
    read_url: str = ""  # [database] read_url: a read replica searches may use (PostgreSQL)
    raw_dir: str = ""  # [raw_store] path: a raw store outside the data directory (shared by several nodes)
    #: Where ``database_url`` came from, for error messages ("DOSSIER_DATABASE_URL", "… [database] url").
    database_source: str = ""
    dormant_days: int = 90  # [customers] dormant_days: no mail for this long and a customer is dormant
    web_listen: str = ""  # [web] listen: "HOST:PORT" the daemon serves the web front end on ("" = not)
    web_proxies: tuple[str, ...] = ()  # [web] proxies: addresses whose X-Forwarded-* headers are believed
    web_timezone: str = ""  # [web] timezone: the zone pages show times in ("" = the server's)

    def account(self, name: str) -> AccountSettings:
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts) or "none configured"
        raise ConfigError(f"no account named {name!r} in {self.config_path} (accounts: {known})")

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_NAME

    @property
    def index_path(self) -> Path:
        return self.data_dir / INDEX_DIR

    @property
    def raw_path(self) -> Path:
        return Path(self.raw_dir) if self.raw_dir else self.data_dir / RAW_DIR


#: Messages per import batch at most: a batch is held in memory and saved in one transaction.
MAX_BATCH_SIZE = 10_000
MAX_WORKERS = 64
#: Bounds of an account's numbers: a TCP port, a week between syncs, an hour to wait for a server.
MAX_PORT = 65535
MAX_INTERVAL = 7 * 24 * 60.0
MAX_TIMEOUT = 3600.0

# section -> key -> (type, default)
_SCHEMA: dict[str, dict[str, tuple[type, object]]] = {
    "database": {"url": (str, ""), "read_url": (str, "")},
    "linking": {
        "own_domains": (list, []),
        "own_addresses": (list, []),
        "freemail_add": (list, []),
        "freemail_remove": (list, []),
    },
    "import": {"batch_size": (int, 200), "fsync": (bool, True), "workers": (int, None),  # None: one per CPU
               "parser": (str, "mail-parser")},
    "daemon": {"nightly": (str, "30 2 * * *")},
    "raw_store": {"key_env": (str, ""), "key_file": (str, ""), "path": (str, "")},
    "index": {"engine": (str, "tantivy")},
    "customers": {"dormant_days": (int, 90)},
    "web": {"listen": (str, ""), "proxies": (list, []), "timezone": (str, "")},
}

# [[accounts]] key -> (type, default); name, host and username are required.
_ACCOUNT_KEYS: dict[str, tuple[type | tuple[type, ...], object]] = {
    "name": (str, None),
    "host": (str, None),
    "username": (str, None),
    "port": (int, None),
    "security": (str, "ssl"),
    "password_env": (str, ""),
    "password_command": (str, ""),
    "password": (str, ""),
    "folders": (list, ["*"]),
    "exclude_folders": (list, []),
    "ca_file": (str, ""),
    "interval": ((int, float), 15.0),
    "timeout": ((int, float), 60.0),
    "provider": (str, ""),
    "auth": (str, "password"),
    "token_command": (str, ""),
    "oauth": (dict, {}),
    "owner": (str, ""),
}
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_AUTH = ("password", "xoauth2", "oauthbearer")
_OAUTH_KEYS = {"kind": str, "client_id": str, "client_secret": str, "scopes": list, "authority": str,
               "auth_uri": str, "token_uri": str, "ca_file": str}


def _accounts(raw: object, path: Path) -> tuple[AccountSettings, ...]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise ConfigError(f"{path}: accounts must be written as [[accounts]] tables")
    accounts = []
    for number, table in enumerate(raw, 1):
        where = f"{path}: [[accounts]] #{number}"
        for key, value in table.items():
            if key not in _ACCOUNT_KEYS:
                raise ConfigError(f"{where}: unknown key {key!r}; known keys: {', '.join(_ACCOUNT_KEYS)}")
            kind = _ACCOUNT_KEYS[key][0]
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ConfigError(f"{where}: {key} has the wrong type")
            if kind is list and not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: {key} must be a list of strings")
        table = _with_preset(table, where)
        for key in ("name", "host", "username"):
            if not str(table.get(key, "")).strip():
                raise ConfigError(f"{where}: {key} is required" + (" (or a provider)" if key == "host" else ""))
        name = table["name"].strip()
        where = f"{path}: account {name!r}"
        if name in {a.name for a in accounts}:
            raise ConfigError(f"{where}: two accounts have this name; names must be unique")
        security = table.get("security", "ssl")
        if security not in ("ssl", "starttls", "none"):
            raise ConfigError(f"{where}: security must be ssl, starttls or none")
        if security == "none" and table["host"] not in _LOOPBACK:
            raise ConfigError(
                f"{where}: security = \"none\" sends the password in clear text and is allowed only for "
                "127.0.0.1; use ssl or starttls"
            )
        secrets = [k for k in ("password_env", "password_command", "password") if table.get(k)]
        oauth = _oauth(table, where)
        if table["auth"] != "password":
            _check_oauth_secret(table, secrets, oauth, where)
        elif table.get("token_command"):
            raise ConfigError(f"{where}: token_command gives an OAuth2 token; set auth = \"xoauth2\" (or "
                              "\"oauthbearer\") with it, or use password_env / password_command for a password")
        elif not secrets:
            raise ConfigError(f"{where}: give password_env (an environment variable) or password_command")
        if len(secrets) > 1:
            raise ConfigError(f"{where}: give only one of {', '.join(secrets)}")
        if table.get("password") and not _private(path):
            raise ConfigError(
                f"{where}: the config holds a plain password and is readable by others; remove it and use "
                f"password_env or password_command (or at least `chmod 600 {path}`)"
            )
        if "port" in table and not 1 <= table["port"] <= MAX_PORT:
            raise ConfigError(f"{where}: port must be from 1 to {MAX_PORT} (993 for ssl, 143 for starttls)")
        if not 0 < float(table.get("interval", 15.0)) <= MAX_INTERVAL:
            raise ConfigError(f"{where}: interval must be more than 0 and at most {MAX_INTERVAL:.0f} minutes (a week)")
        if not 0 < float(table.get("timeout", 60.0)) <= MAX_TIMEOUT:
            raise ConfigError(f"{where}: timeout must be more than 0 and at most {MAX_TIMEOUT:.0f} seconds")
        accounts.append(AccountSettings(
            name=name,
            host=table["host"].strip(),
            username=table["username"],
            port=int(table.get("port") or (993 if security == "ssl" else 143)),
            security=security,
            password_env=table.get("password_env", ""),
            password_command=table.get("password_command", ""),
            password=table.get("password", ""),
            folders=tuple(table.get("folders", ["*"])) or ("*",),
            exclude_folders=tuple(table.get("exclude_folders", [])),
            ca_file=str(Path(table["ca_file"]).expanduser()) if table.get("ca_file") else "",
            interval=float(table.get("interval", 15.0)),
            timeout=float(table.get("timeout", 60.0)),
            provider=str(table.get("provider", "")).lower(),
            auth=table["auth"],
            token_command=table.get("token_command", ""),
            oauth=oauth,
            owner=" ".join(table.get("owner", "").split()),
        ))
    return tuple(accounts)


def _with_preset(table: dict, where: str) -> dict:
    from .providers import UnknownProvider, apply_preset

    try:
        table = apply_preset(table)
    except UnknownProvider as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if table["auth"] not in _AUTH:
        raise ConfigError(f"{where}: auth must be one of {', '.join(_AUTH)}, not {table['auth']!r}")
    return table


def _oauth(table: dict, where: str) -> OAuthSettings | None:
    raw = table.get("oauth") or {}
    if not raw:
        return None
    for key, value in raw.items():
        if key not in _OAUTH_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} in oauth; known keys: {', '.join(_OAUTH_KEYS)}")
        if not isinstance(value, _OAUTH_KEYS[key]) or (key == "scopes" and not all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{where}: oauth {key} has the wrong type")
    if raw.get("kind") not in ("microsoft", "google"):
        raise ConfigError(f"{where}: oauth kind must be \"microsoft\" or \"google\" (or set a provider)")
    return OAuthSettings(
        kind=raw["kind"], client_id=raw.get("client_id", ""), client_secret=raw.get("client_secret", ""),
        scopes=tuple(raw.get("scopes", ())), authority=raw.get("authority", ""), auth_uri=raw.get("auth_uri", ""),
        token_uri=raw.get("token_uri", ""),
        ca_file=str(Path(raw["ca_file"]).expanduser()) if raw.get("ca_file") else "",
    )


def _check_oauth_secret(table: dict, secrets: list[str], oauth: OAuthSettings | None, where: str) -> None:
    if secrets:
        raise ConfigError(
            f"{where}: {secrets[0]} gives a password, but auth = {table['auth']!r} signs in with an OAuth2 token; "
            "use token_command or `dossier accounts authorize`, or set auth = \"password\""
        )
    if not table.get("token_command") and oauth is None:
        raise ConfigError(
            f"{where}: auth = {table['auth']!r} needs an access token: give token_command (a command printing one), "
            "or a provider with OAuth2 (gmail, microsoft) or an [accounts.oauth] table, then run "
            f"`dossier accounts authorize {table['name'].strip()}`"
        )


def _private(path: Path) -> bool:
    try:
        return not path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    except OSError:
        return False


def _read_toml(path: Path) -> dict:
    import tomllib  # only when there is a file to read: `dossier --help` does without

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; run `dossier init` or give --config") from None
    except PermissionError:
        raise ConfigError(f"cannot read config file {path}: permission denied") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder; give --config the path of a file") from None
    try:
        return tomllib.loads(_config_text(data, path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _config_text(data: bytes, path: Path) -> str:
    """The config's text: UTF-8, with or without the byte order mark Notepad writes, or UTF-16
    with its byte order mark (Notepad's "Unicode"). Raises ConfigError for anything else."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            data, codec = data[len(bom):], encoding
            break
    else:
        codec = "utf-8"
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start + 1} cannot be read); "
                          "save it as UTF-8") from None


def _validate(raw: dict, path: Path) -> dict:
    values: dict = {}
    for section, keys in _SCHEMA.items():
        values[section] = {key: default for key, (_, default) in keys.items()}
    values["accounts"] = ()
    for section, table in raw.items():
        if section == "accounts":
            values["accounts"] = _accounts(table, path)
            continue
        if section not in _SCHEMA:
            known = ", ".join([f"[{s}]" for s in _SCHEMA] + ["[[accounts]]"])
            raise ConfigError(f"{path}: unknown section or key {section!r}; known sections are {known}")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section!r} must be a table ([{section}])")
        for key, value in table.items():
            if key not in _SCHEMA[section]:
                known = ", ".join(_SCHEMA[section])
                raise ConfigError(f"{path}: unknown key {key!r} in [{section}]; known keys: {known}")
            kind, _ = _SCHEMA[section][key]
            if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{path}: [{section}] {key} must be a whole number")
            if kind is not int and not isinstance(value, kind):
                raise ConfigError(f"{path}: [{section}] {key} must be a {kind.__name__}")
            if kind is list and not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: [{section}] {key} must be a list of strings")
            values[section][key] = value
    if not 1 <= values["import"]["batch_size"] <= MAX_BATCH_SIZE:
        raise ConfigError(f"{path}: [import] batch_size must be from 1 to {MAX_BATCH_SIZE} (default 200)")
    if values["import"]["workers"] is not None and not 0 <= values["import"]["workers"] <= MAX_WORKERS:
        raise ConfigError(f"{path}: [import] workers must be from 0 to {MAX_WORKERS} (0: read in the importing "
                          "process; leave it out for one per CPU)")
    from ingest.message import PARSERS

    if values["import"]["parser"] not in PARSERS:
        raise ConfigError(f"{path}: [import] parser must be one of {', '.join(PARSERS)}, "
                          f"not {values['import']['parser']!r}")
    if values["customers"]["dormant_days"] < 1:
        raise ConfigError(f"{path}: [customers] dormant_days must be at least 1")
    _check_web(values["web"], path)
    from index import ENGINES

    if values["index"]["engine"] not in ENGINES:
        raise ConfigError(f"{path}: [index] engine must be one of {', '.join(ENGINES)}, "
                          f"not {values['index']['engine']!r}")
    return values


def check_config(text: str, path: Path) -> None:
    """Check a config's text as :func:`load_settings` would read it from ``path``. Raises ConfigError."""
    import tomllib

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    _validate(raw, path)


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8400`` for IPv6) as host and port. Raises ValueError."""
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT")
    return host, int(port)


def _check_web(web: dict, path: Path) -> None:
    if web["listen"]:
        try:
            parse_listen(web["listen"])
        except ValueError:
            raise ConfigError(f'{path}: [web] listen must be HOST:PORT, like "127.0.0.1:8400"') from None
    import ipaddress

    for proxy in web["proxies"]:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(f"{path}: [web] proxies: {proxy!r} is not an IP address or network") from None
    if web["timezone"]:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(web["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f'{path}: [web] timezone {web["timezone"]!r} is not a time zone; '
                              'write one like "Asia/Shanghai"') from None


def load_settings(data_dir: Path | None = None, config_path: Path | None = None) -> Settings:
    """Settings for ``data_dir`` (found as :func:`locate` says) from its ``dossier.toml``.

    Raises ConfigError when the data directory was never initialised or the config is invalid.
    """
    data_dir, config_path = locate(data_dir, config_path)
    if not config_path.exists() and not (data_dir / DB_NAME).exists():
        raise ConfigError(
            f"no Dossier archive at {data_dir}; run `dossier init --data-dir {data_dir}` first "
            "(or set DOSSIER_HOME / --data-dir to your archive)"
        )
    values = _validate(_read_toml(config_path), config_path) if config_path.exists() else _validate({}, config_path)
    if os.environ.get("DOSSIER_DATABASE_URL"):
        url, source = os.environ["DOSSIER_DATABASE_URL"], "DOSSIER_DATABASE_URL"
    elif values["database"]["url"]:
        url, source = str(values["database"]["url"]), f"{config_path} [database] url"
    else:
        url, source = f"sqlite:///{data_dir / DB_NAME}", ""
    raw_dir = values["raw_store"]["path"]
    link = values["linking"]
    return Settings(
        data_dir=data_dir,
        config_path=config_path,
        database_url=url,
        own_domains=tuple(link["own_domains"]),
        own_addresses=tuple(link["own_addresses"]),
        freemail_add=tuple(link["freemail_add"]),
        freemail_remove=tuple(link["freemail_remove"]),
        batch_size=int(values["import"]["batch_size"]),
        fsync=bool(values["import"]["fsync"]),
        workers=values["import"]["workers"],
        parser=values["import"]["parser"],
        accounts=values["accounts"],
        nightly=_cron(str(values["daemon"]["nightly"]), config_path),
        raw_key_env=values["raw_store"]["key_env"],
        raw_key_file=str(Path(values["raw_store"]["key_file"]).expanduser()) if values["raw_store"]["key_file"] else "",
        index_engine=values["index"]["engine"],
        read_url=str(values["database"]["read_url"]),
        raw_dir=str(Path(raw_dir).expanduser().resolve()) if raw_dir else "",
        database_source=source,
        dormant_days=int(values["customers"]["dormant_days"]),
        web_listen=values["web"]["listen"].strip(),
        web_proxies=tuple(values["web"]["proxies"]),
        web_timezone=values["web"]["timezone"],
    )


def raw_store_key(settings: Settings) -> bytes | None:
    """The raw store's encryption key (32 bytes) from [raw_store] key_env or key_file, or None.

    The key is written as 64 hex digits or as base64 of 32 bytes (`openssl rand -base64 32`).
    Raises ConfigError when the variable is unset, the file unreadable or readable by others,
    or the key malformed.
    """
    if settings.raw_key_env and settings.raw_key_file:
        raise ConfigError(f"{settings.config_path}: [raw_store] give key_env or key_file, not both")
    if settings.raw_key_env:
        text = os.environ.get(settings.raw_key_env, "")
        if not text.strip():
            raise ConfigError(
                f"the raw store is encrypted with the key in ${settings.raw_key_env}, which is not set; "
                "set it (the same key every time: without it the stored mail cannot be read)"
            )
        where = f"${settings.raw_key_env}"
    elif settings.raw_key_file:
        path = Path(settings.raw_key_file)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read the raw store key file {path}: {exc.strerror or exc}") from None
        if not _private(path):
            raise ConfigError(f"the raw store key file {path} is readable by others; run `chmod 600 {path}`")
        where = str(path)
    else:
        return None
    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(f"the raw store key in {where} must be 32 bytes, written as 64 hex digits or base64 "
                          "(make one with `openssl rand -base64 32`)")
    return key


def _cron(value: str, path: Path) -> str:
    """Accept ``HH:MM`` or a five-field crontab line; return the crontab line."""
    value = value.strip()
    if ":" in value and len(value.split()) == 1:
        hour, _, minute = value.partition(":")
        if hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60:
            return f"{int(minute)} {int(hour)} * * *"
    elif len(value.split()) == 5:
        return value
    raise ConfigError(f"{path}: [daemon] nightly must be a time like \"02:30\" or a crontab line like \"30 2 * * *\"")


def init_data_dir(
    data_dir: Path | None = None, config_path: Path | None = None, *, own_domains: Sequence[str] = (),
    engine: str | None = None, database_url: str | None = None, raw_dir: str | None = None,
) -> Path:
    """Create the data directory (mode 0700) with a commented config; return the config path.

    ``own_domains`` fill the config's ``own_domains`` key, ``engine`` its ``[index] engine``,
    ``database_url`` (without a password) its ``[database] url``, ``raw_dir`` its ``[raw_store]
    path``. An existing config is left as it is.
    Raises ConfigError when the directory cannot be created.
    """
    data_dir, config_path = locate(data_dir, config_path)
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(data_dir, 0o700)
        for sub in (INDEX_DIR,) if raw_dir else (RAW_DIR, INDEX_DIR):
            (data_dir / sub).mkdir(exist_ok=True, mode=0o700)
        if raw_dir:
            Path(raw_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        if not config_path.exists():
            config_path.parent.mkdir(parents=True, exist_ok=True)
            text = TEMPLATE.read_text(encoding="utf-8")
            if own_domains:
                listed = ", ".join(json.dumps(d.strip().lower()) for d in own_domains)
                text = text.replace("\nown_domains = []\n", f"\nown_domains = [{listed}]\n", 1)
            if engine:
                text = text.replace('\nengine = "tantivy"\n', f"\nengine = {json.dumps(engine)}\n", 1)
            if database_url:
                text = text.replace('\nurl = ""\n', f"\nurl = {json.dumps(database_url)}\n", 1)
            if raw_dir:
                text = text.replace('\npath = ""\n', f"\npath = {json.dumps(raw_dir)}\n", 1)
            config_path.write_text(text, encoding="utf-8")
            os.chmod(config_path, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the data directory {data_dir}: {exc.strerror or exc}; "
            "choose a writable place with --data-dir or DOSSIER_HOME"
        ) from exc
    return config_path


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a temporary file, private to the owner,
    flushed to disk and renamed into place). Raises OSError."""
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_writable(data_dir: Path) -> None:
    """Raise ConfigError unless the data directory can be written."""
    try:
        read_only = bool(os.statvfs(data_dir).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        raise ConfigError(f"the data directory {data_dir} is on a read-only file system; Dossier writes to it "
                          "(locks, index, raw messages), so remount it read-write or copy the archive to a "
                          "writable place")
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise ConfigError(
            f"the data directory {data_dir} is not writable; fix its permissions "
            f"(chmod u+rwx {data_dir}) or use another --data-dir"
        )
