"""A small real OAuth2 identity provider on 127.0.0.1, for the OAuth2 tests.

Two HTTP servers in threads of the test process:

- the provider (HTTPS, a self-signed certificate for 127.0.0.1): OpenID discovery under
  ``/<tenant>/v2.0/`` (as msal reads it), the device authorisation endpoint (RFC 8628), the
  authorisation endpoint (redirects back with a code, PKCE checked) and the token endpoint
  (RFC 6749: authorization_code, device_code and refresh_token grants). Each refresh rotates the
  refresh token, as Microsoft's does. Tokens can be expired and grants revoked at will.
- the validation endpoint (plain HTTP, loopback) that Dovecot's ``oauth2`` passdb asks about each
  access token (``introspection_mode = auth``): active or not, and whose it is.

The person who signs in is ``person`` (set by a test); a device code is approved at its second
poll, as if that person had entered it meanwhile.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

TENANT = "dossier-test"


@dataclass
class _Access:
    user: str
    expires_at: float
    revoked: bool = False


@dataclass
class _Refresh:
    user: str
    client_id: str
    scopes: str


@dataclass
class _Device:
    user_code: str
    client_id: str
    scopes: str
    polls: int = 0


@dataclass
class Provider:
    """The provider's state, shared by both servers; every method is safe to call from a test."""

    lifetime: float = 3600.0
    person: str = ""
    access: dict[str, _Access] = field(default_factory=dict)
    refresh: dict[str, _Refresh] = field(default_factory=dict)
    devices: dict[str, _Device] = field(default_factory=dict)
    codes: dict[str, tuple[str, str, str, str, str]] = field(default_factory=dict)
    refreshes: int = 0
    introspections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, user: str, client_id: str = "dossier-test-client", scopes: str = "imap") -> dict:
        with self.lock:
            return self._issue(user, client_id, scopes)

    def _issue(self, user: str, client_id: str, scopes: str) -> dict:
        token, refresh = "at-" + secrets.token_urlsafe(24), "rt-" + secrets.token_urlsafe(24)
        self.access[token] = _Access(user, time.time() + self.lifetime)
        self.refresh[refresh] = _Refresh(user, client_id, scopes)
        return {"access_token": token, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": int(self.lifetime), "scope": scopes}

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (the refresh tokens still do)."""
        with self.lock:
            for access in self.access.values():
                access.expires_at = 0

    def revoke(self, user: str) -> None:
        """Revoke every grant of ``user``: refresh tokens and access tokens both stop working."""
        with self.lock:
            self.refresh = {k: v for k, v in self.refresh.items() if v.user != user}
            for access in self.access.values():
                if access.user == user:
                    access.revoked = True

    def is_valid(self, token: str) -> str | None:
        with self.lock:
            self.introspections += 1
            access = self.access.get(token)
            if access is None or access.revoked or access.expires_at < time.time():
                return None
            return access.user

    def secrets_issued(self) -> list[str]:
        with self.lock:
            return [*self.access, *self.refresh]


class _Handler(BaseHTTPRequestHandler):
    provider: Provider
    base: str

    def log_message(self, *args) -> None:  # quiet
        pass

    def _reply(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):  # client credentials in the header (requests-oauthlib's way)
            client_id, _, _ = base64.b64decode(auth[6:]).decode().partition(":")
            form.setdefault("client_id", client_id)
        return form


class _ProviderHandler(_Handler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            self._reply(200, {"issuer": f"{self.base}/{TENANT}/v2.0",
                              "authorization_endpoint": f"{self.base}/authorize",
                              "token_endpoint": f"{self.base}/token",
                              "device_authorization_endpoint": f"{self.base}/devicecode"})
        elif url.path == "/authorize":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            code = "code-" + secrets.token_urlsafe(16)
            with self.provider.lock:
                self.provider.codes[code] = (self.provider.person, query["client_id"], query.get("scope", ""),
                                             query["redirect_uri"], query.get("code_challenge", ""))
            target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", "")})
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._reply(404, {"error": "not_found"})

    def do_POST(self) -> None:
        form = self._form()
        provider = self.provider
        if self.path == "/devicecode":
            device = "dc-" + secrets.token_urlsafe(16)
            user_code = secrets.token_hex(4).upper()
            with provider.lock:
                provider.devices[device] = _Device(user_code, form["client_id"], form.get("scope", ""))
            self._reply(200, {"device_code": device, "user_code": user_code, "interval": 1, "expires_in": 60,
                              "verification_uri": f"{self.base}/device"})
            return
        if self.path != "/token":
            self._reply(404, {"error": "not_found"})
            return
        grant = form.get("grant_type", "")
        with provider.lock:
            if grant == "refresh_token":
                known = provider.refresh.pop(form.get("refresh_token", ""), None)
                if known is None or known.client_id != form.get("client_id"):
                    self._reply(400, {"error": "invalid_grant", "error_description":
                                      "AADSTS70008: The refresh token has expired or was revoked."})
                    return
                provider.refreshes += 1
                self._reply(200, provider._issue(known.user, known.client_id, known.scopes))
            elif grant == "urn:ietf:params:oauth:grant-type:device_code":
                device = provider.devices.get(form.get("device_code", ""))
                if device is None:
                    self._reply(400, {"error": "expired_token"})
                    return
                device.polls += 1
                if device.polls < 2:
                    self._reply(400, {"error": "authorization_pending"})
                    return
                del provider.devices[form["device_code"]]
                self._reply(200, provider._issue(provider.person, device.client_id, device.scopes))
            elif grant == "authorization_code":
                found = provider.codes.pop(form.get("code", ""), None)
                if found is None:
                    self._reply(400, {"error": "invalid_grant"})
                    return
                user, client_id, scopes, redirect_uri, challenge = found
                verifier = form.get("code_verifier", "")
                computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if client_id != form.get("client_id") or redirect_uri != form.get("redirect_uri") \
                        or (challenge and computed != challenge):
                    self._reply(400, {"error": "invalid_grant", "error_description": "code, client or PKCE mismatch"})
                    return
                self._reply(200, provider._issue(user, client_id, scopes))
            else:
                self._reply(400, {"error": "unsupported_grant_type"})


class _ValidationHandler(_Handler):
    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        user = self.provider.is_valid(auth[7:]) if auth.startswith("Bearer ") else None
        if user is None:
            self._reply(401, {"active": False, "error": "invalid_token"})
        else:
            self._reply(200, {"active": True, "email": user})


class OAuthServers:
    """The provider (HTTPS) and the validation endpoint (HTTP) running; ``close`` stops both."""

    def __init__(self, root: Path) -> None:
        self.provider = Provider()
        self.cert = root / "oauth-cert.pem"
        key = root / "oauth-key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(self.cert)],
            check=True, capture_output=True,
        )
        self._https = ThreadingHTTPServer(("127.0.0.1", 0), _ProviderHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self._https.socket = context.wrap_socket(self._https.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self._https.server_port}"
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _ValidationHandler)
        self.validation_url = f"http://127.0.0.1:{self._http.server_port}/introspect"
        for server, handler in ((self._https, _ProviderHandler), (self._http, _ValidationHandler)):
            server.RequestHandlerClass = type(handler.__name__, (handler,), {"provider": self.provider,
                                                                              "base": self.base})
            server.daemon_threads = True
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True, name="oauth-test-server")
                         for s in (self._https, self._http)]
        for thread in self._threads:
            thread.start()

    @property
    def authority(self) -> str:
        """The msal authority (Microsoft's shape: https://HOST/TENANT)."""
        return f"{self.base}/{TENANT}"

    def close(self) -> None:
        for server in (self._https, self._http):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
