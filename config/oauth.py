"""OAuth2 sign-in for IMAP accounts: access tokens from a ``token_command`` or from the grant
``dossier accounts authorize`` stored, and the authorisation flows (msal, google-auth-oauthlib).

A grant is the refresh token of one account, kept in ``DATA_DIR/oauth/`` (a file private to the
owner, sealed with the raw store's key when one is configured). Access tokens live only in
memory: each is used until shortly before its expiry, then the grant is refreshed (and a
refresh token the provider rotated is stored again). No token is ever logged or shown.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from ingest.store import RawStoreError, is_sealed, open_sealed, seal_bytes

from .settings import AccountSettings, ConfigError, OAuthSettings, Settings, raw_store_key, replace_file

log = logging.getLogger(__name__)

GRANTS_DIR = "oauth"
#: An access token is renewed this long before the expiry it was issued with.
EXPIRY_MARGIN = 120.0
#: The lifetime assumed for a token whose response says none (Google and Microsoft issue one hour).
DEFAULT_LIFETIME = 3600.0
#: Seconds to wait for the identity provider.
HTTP_TIMEOUT = 30.0


class AuthorizationError(ConfigError):
    """An account's OAuth2 sign-in cannot give a token: not authorised yet, revoked, refused by the
    provider's policy; the message names the account and the command or setting that fixes it."""


# ---------------------------------------------------------------------------- commands that print secrets


def run_secret_command(account: str, key: str, command: str) -> str:
    """The first line a secret command (``password_command``, ``token_command``) prints. Raises
    ConfigError naming the account and the key when it fails, times out or prints nothing; the
    secret itself is never put in an error."""
    try:
        done = subprocess.run(command, shell=True, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"account {account!r}: {key} did not finish in 60 s") from None
    if done.returncode != 0:
        # Only the status: what the command printed may hold the secret (a password manager's
        # error can quote its entry).
        raise ConfigError(f"account {account!r}: {key} failed (exit {done.returncode}); run it yourself to see why")
    value = done.stdout.decode("utf-8", "replace").rstrip("\r\n")
    if not value:
        raise ConfigError(f"account {account!r}: {key} printed nothing")
    return value


# ---------------------------------------------------------------------------- token sources


class TokenSource:
    """Gives an account's access token; ``renew`` gives a fresh one after the server refused it."""

    def token(self) -> str:
        raise NotImplementedError

    def renew(self) -> str:
        raise NotImplementedError


class CommandTokens(TokenSource):
    """``token_command``: a helper (oama, mutt_oauth2.py, a script) that keeps and refreshes the
    grant itself and prints a valid access token each time it runs."""

    def __init__(self, account: AccountSettings) -> None:
        self.account = account

    def token(self) -> str:
        return run_secret_command(self.account.name, "token_command", self.account.token_command)

    renew = token


@dataclass(frozen=True)
class Grant:
    """What ``dossier accounts authorize`` stored for an account: its refresh token and the
    client it was issued to."""

    kind: str
    client_id: str
    scopes: tuple[str, ...]
    refresh_token: str = field(repr=False)
    stored_at: str = ""

    def to_json(self) -> bytes:
        return json.dumps({"version": 1, "kind": self.kind, "client_id": self.client_id, "scopes": list(self.scopes),
                           "refresh_token": self.refresh_token, "stored_at": self.stored_at}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Grant:
        raw = json.loads(data)
        return cls(raw["kind"], raw["client_id"], tuple(raw["scopes"]), raw["refresh_token"], raw.get("stored_at", ""))


def grant_path(settings: Settings, name: str) -> Path:
    """Where the grant of account ``name`` is kept (whatever characters the name has)."""
    return settings.data_dir / GRANTS_DIR / f"{quote(name, safe='')}.grant"


def _associated(name: str) -> bytes:
    # Binds a sealed grant to its account: one account's file copied over another's will not open.
    return b"dossier-oauth-grant:" + name.encode()


def save_grant(settings: Settings, name: str, grant: Grant) -> Path:
    """Store ``grant`` for account ``name`` (mode 0600, written whole or not at all; sealed when
    the raw store has a key). Returns the file. Raises ConfigError when it cannot be written."""
    path = grant_path(settings, name)
    key = raw_store_key(settings)
    data = grant.to_json() if key is None else seal_bytes(key, grant.to_json(), _associated(name))
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        os.chmod(path.parent, 0o700)
        replace_file(path, data)
    except OSError as exc:
        raise ConfigError(f"cannot store the OAuth2 grant in {path.parent}: {exc.strerror or exc}") from None
    return path


def load_grant(settings: Settings, name: str) -> Grant:
    """The stored grant of account ``name``. Raises AuthorizationError when there is none or it
    cannot be opened (sealed, and the raw store key is missing or another)."""
    path = grant_path(settings, name)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AuthorizationError(
            f"account {name!r} is not signed in yet; run `dossier accounts authorize {name}`") from None
    except OSError as exc:
        raise AuthorizationError(f"account {name!r}: cannot read {path}: {exc.strerror or exc}") from None
    if is_sealed(data):
        key = raw_store_key(settings)
        if key is None:
            raise AuthorizationError(
                f"account {name!r}: the stored sign-in {path} is sealed with the raw store key, which is not "
                "configured; configure [raw_store] as when it was stored, or run "
                f"`dossier accounts authorize {name}` again")
        try:
            data = open_sealed(key, data, _associated(name))
        except RawStoreError:
            raise AuthorizationError(
                f"account {name!r}: the stored sign-in {path} cannot be opened with the configured raw store key; "
                f"run `dossier accounts authorize {name}` again") from None
    try:
        return Grant.from_json(data)
    except (ValueError, KeyError, TypeError):
        raise AuthorizationError(
            f"account {name!r}: the stored sign-in {path} is damaged; run `dossier accounts authorize {name}`"
        ) from None


#: Access tokens by grant file: a daemon reuses one across passes until shortly before it expires.
_ACCESS: dict[Path, tuple[str, float]] = {}
_ACCESS_LOCK = threading.Lock()


class GrantTokens(TokenSource):
    """Access tokens from the stored grant, refreshed (RFC 6749 refresh grant, through the
    provider's library) when the last one is about to expire or the server refused it."""

    def __init__(self, settings: Settings, account: AccountSettings) -> None:
        self.settings, self.account = settings, account

    def token(self) -> str:
        path = grant_path(self.settings, self.account.name)
        with _ACCESS_LOCK:
            cached = _ACCESS.get(path)
            if cached and cached[1] - EXPIRY_MARGIN > time.time():
                return cached[0]
        return self.renew()

    def renew(self) -> str:
        name, oauth = self.account.name, self.account.oauth
        if oauth is None:
            raise AuthorizationError(f"account {name!r}: no OAuth2 settings; set a provider or [accounts.oauth]")
        grant = load_grant(self.settings, name)
        with _reaching(name, oauth):
            token, lifetime, rotated = _refresh(name, oauth, grant)
        with _ACCESS_LOCK:
            _ACCESS[grant_path(self.settings, name)] = (token, time.time() + lifetime)
        if rotated and rotated != grant.refresh_token:
            save_grant(self.settings, name, Grant(grant.kind, grant.client_id, grant.scopes, rotated, _now()))
        log.info("account %s: OAuth2 access token refreshed (valid %.0f s)", name, lifetime)
        return token


def token_source(settings: Settings, account: AccountSettings) -> TokenSource:
    """Where ``account``'s access tokens come from: its token_command, else its stored grant."""
    return CommandTokens(account) if account.token_command else GrantTokens(settings, account)


def forget_access_tokens() -> None:
    """Drop the access tokens held in memory (the next use refreshes the grant)."""
    with _ACCESS_LOCK:
        _ACCESS.clear()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------- refreshing a grant


def _refresh(name: str, oauth: OAuthSettings, grant: Grant) -> tuple[str, float, str]:
    """A new access token for ``grant``: (token, lifetime in seconds, the refresh token to keep)."""
    if not oauth.client_id or oauth.client_id != grant.client_id or oauth.kind != grant.kind:
        raise AuthorizationError(
            f"account {name!r}: the stored sign-in was made for another OAuth2 client than oauth.client_id now "
            f"names; run `dossier accounts authorize {name}` again")
    if oauth.kind == "microsoft":
        result = _msal_app(oauth).acquire_token_by_refresh_token(grant.refresh_token, scopes=list(oauth.scopes))
        if "access_token" not in result:
            raise _grant_error(name, result.get("error", ""), result.get("error_description", ""))
        return (result["access_token"], float(result.get("expires_in") or DEFAULT_LIFETIME),
                result.get("refresh_token") or grant.refresh_token)
    from google.auth.exceptions import RefreshError, TransportError
    from google.oauth2.credentials import Credentials

    credentials = Credentials(None, refresh_token=grant.refresh_token, token_uri=oauth.token_uri,
                              client_id=oauth.client_id, client_secret=oauth.client_secret or None,
                              scopes=list(oauth.scopes))
    try:
        credentials.refresh(_google_request(oauth))
    except RefreshError as exc:
        error = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        raise _grant_error(name, error.get("error", str(exc.args[0] if exc.args else "")),
                           error.get("error_description", "")) from None
    except TransportError as exc:
        raise AuthorizationError(f"account {name!r}: cannot reach the token endpoint {oauth.token_uri} ({exc}); "
                                 "check the network; the next pass tries again") from None
    lifetime = DEFAULT_LIFETIME
    if credentials.expiry is not None:
        lifetime = (credentials.expiry.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)).total_seconds()
    return credentials.token, lifetime, credentials.refresh_token or grant.refresh_token


def _grant_error(name: str, error: str, description: str) -> AuthorizationError:
    """The one line for a refused refresh or sign-in, by the OAuth2 error and Microsoft's AADSTS codes."""
    text = " ".join(f"{error}: {description}".split())[:300].strip(": ")
    fix = f"run `dossier accounts authorize {name}` to sign in again"
    if "AADSTS65001" in description or error == "consent_required":
        fix = ("the app has no consent for IMAP access: an administrator must grant it (Entra admin center → "
               f"Enterprise applications → the app → Permissions), then run `dossier accounts authorize {name}`")
    elif "AADSTS53003" in description or error in ("admin_policy_enforced", "org_internal"):
        fix = "the organisation's policy blocks this sign-in: ask the administrator to allow the app for IMAP"
    elif "AADSTS700016" in description or error in ("invalid_client", "unauthorized_client"):
        fix = "the identity provider does not know oauth.client_id: check it (and the tenant in oauth.authority)"
    elif error in ("invalid_grant", "interaction_required") or "AADSTS50173" in description:
        return AuthorizationError(f"account {name!r}: the OAuth2 sign-in was revoked or has expired ({text}); {fix}")
    return AuthorizationError(f"account {name!r}: the OAuth2 sign-in was refused ({text}); {fix}")


@contextlib.contextmanager
def _reaching(name: str, oauth: OAuthSettings) -> Iterator[None]:
    """Network and TLS failures talking to the identity provider, as one line."""
    import requests

    where = oauth.authority or oauth.token_uri
    try:
        yield
    except requests.exceptions.SSLError as exc:
        raise AuthorizationError(
            f"account {name!r}: the TLS certificate of the identity provider {where} is not trusted "
            f"({_first_reason(exc)}); set oauth.ca_file to the CA that signed it") from None
    except requests.RequestException as exc:
        raise AuthorizationError(f"account {name!r}: cannot reach the identity provider {where} "
                                 f"({_first_reason(exc)}); check the network and try again") from None
    except ValueError as exc:  # msal: the authority's OpenID configuration cannot be read
        if "authority" not in str(exc).lower() and "oidc" not in str(exc).lower():
            raise
        raise AuthorizationError(f"account {name!r}: {where} is no OAuth2 authority msal can use "
                                 f"({_first_reason(exc)}); check oauth.authority") from None


def _first_reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _msal_app(oauth: OAuthSettings):
    import msal

    # Instance discovery asks login.microsoftonline.com whether the authority is Microsoft's; the
    # authority comes from the preset or the user, so it is trusted as given.
    client = _trusting(_session(), oauth.ca_file) if oauth.ca_file else None
    return msal.PublicClientApplication(oauth.client_id, authority=oauth.authority or None, http_client=client,
                                        instance_discovery=False, timeout=HTTP_TIMEOUT)


def _google_request(oauth: OAuthSettings):
    from google.auth.transport.requests import Request

    return Request(session=_trusting(_session(), oauth.ca_file) if oauth.ca_file else _session())


def _session():
    import requests

    session = requests.Session()
    session.request = functools.partial(session.request, timeout=HTTP_TIMEOUT)  # requests has no default
    return session


def _trusting(session, ca_file: str):
    """``session`` verifying TLS with ``ca_file``. requests lets $REQUESTS_CA_BUNDLE override a
    session's own ``verify`` (psf/requests#3829); the CA the config names must win."""
    session.verify = ca_file
    merge = session.merge_environment_settings

    def keep_ca_file(url, proxies, stream, verify, cert):
        merged = merge(url, proxies, stream, verify, cert)
        merged["verify"] = ca_file
        return merged

    session.merge_environment_settings = keep_ca_file
    return session


# ---------------------------------------------------------------------------- authorising


def authorize_account(settings: Settings, name: str, *, tell: Callable[[str], None],
                      open_browser: bool = True, timeout: float = 600.0) -> Path:
    """Run the provider's sign-in for account ``name`` once and store the grant; return its file.
    Microsoft: the device code flow (``tell`` gets the address and the code to enter there);
    Google: the installed-app flow, a browser on this machine sent to the consent page (``tell``
    gets the address, for a browser opened by hand) and back to a local port.
    Raises ConfigError for an account without OAuth2 settings or client id, AuthorizationError
    when the sign-in is refused or not completed within ``timeout`` seconds."""
    account = settings.account(name)
    oauth = account.oauth
    if account.token_command or oauth is None:
        raise ConfigError(
            f"account {name!r} gets its tokens " + ("from token_command" if account.token_command else "from nowhere")
            + "; `accounts authorize` needs provider = \"microsoft\" or \"gmail\" (or an [accounts.oauth] table) "
            "and no token_command")
    if not oauth.client_id:
        raise ConfigError(
            f"account {name!r}: set oauth.client_id (an app registered with "
            + ("Microsoft Entra" if oauth.kind == "microsoft" else "Google Cloud")
            + f" for your organisation: README, \"OAuth2\") in {settings.config_path}")
    with _reaching(name, oauth):
        if oauth.kind == "microsoft":
            refresh_token = _device_flow(name, oauth, tell, timeout)
        else:
            refresh_token = _installed_app_flow(name, oauth, tell, open_browser, timeout)
    grant = Grant(oauth.kind, oauth.client_id, oauth.scopes, refresh_token, _now())
    path = save_grant(settings, name, grant)
    forget_access_tokens()
    log.info("account %s: OAuth2 grant stored in %s", name, path)
    return path


def _device_flow(name: str, oauth: OAuthSettings, tell: Callable[[str], None], timeout: float) -> str:
    app = _msal_app(oauth)
    flow = app.initiate_device_flow(scopes=list(oauth.scopes))
    if "user_code" not in flow:
        raise _grant_error(name, flow.get("error", "no device code"), flow.get("error_description", ""))
    flow["expires_at"] = min(float(flow.get("expires_at", 0)) or time.time() + timeout, time.time() + timeout)
    tell(f"To sign in account {name!r}, open {flow['verification_uri']} in any browser and enter the code "
         f"{flow['user_code']}")
    result = app.acquire_token_by_device_flow(flow)
    if "refresh_token" not in result:
        if "access_token" in result:
            raise AuthorizationError(f"account {name!r}: the sign-in gave no refresh token; the app registration "
                                     "must allow offline access (offline_access)")
        raise _grant_error(name, result.get("error", ""), result.get("error_description", ""))
    return result["refresh_token"]


def _installed_app_flow(name: str, oauth: OAuthSettings, tell: Callable[[str], None], open_browser: bool,
                        timeout: float) -> str:
    import webbrowser

    from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    class Flow(InstalledAppFlow):
        def authorization_url(self, **kwargs):
            url, state = super().authorization_url(**kwargs)
            tell(f"To sign in account {name!r}, open this address in a browser on this machine and allow "
                 f"access:\n{url}")
            return url, state

    client = {"installed": {"client_id": oauth.client_id, "client_secret": oauth.client_secret,
                            "auth_uri": oauth.auth_uri, "token_uri": oauth.token_uri,
                            "redirect_uris": ["http://localhost"]}}
    flow = Flow.from_client_config(client, scopes=list(oauth.scopes))
    if oauth.ca_file:
        _trusting(flow.oauth2session, oauth.ca_file)
    try:
        webbrowser.get()
    except webbrowser.Error:
        open_browser = False  # no browser here: the address is shown to open elsewhere
    try:
        # access_type=offline and prompt=consent: Google issues a refresh token only so.
        credentials = flow.run_local_server(port=0, open_browser=open_browser, authorization_prompt_message=None,
                                            success_message="Dossier is signed in; you may close this window.",
                                            timeout_seconds=int(timeout), access_type="offline", prompt="consent")
    except WSGITimeoutError:
        raise AuthorizationError(f"account {name!r}: the sign-in was not completed within {timeout:.0f} s; "
                                 f"run `dossier accounts authorize {name}` again") from None
    except OAuth2Error as exc:
        raise _grant_error(name, exc.error, exc.description or "") from None
    if not credentials.refresh_token:
        raise AuthorizationError(
            f"account {name!r}: Google gave no refresh token; remove Dossier's access in the Google Account's "
            f"security settings and run `dossier accounts authorize {name}` again")
    return credentials.refresh_token
