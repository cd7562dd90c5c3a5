"""Who is asking: signed session cookies, CSRF tokens, roles, and the headers every response carries.

The session is a JSON object signed with itsdangerous (as Starlette's own SessionMiddleware
does) in a cookie that is HttpOnly, SameSite=Lax, and Secure whenever the request came over
HTTPS (directly, or through a proxy listed in ``[web] proxies``); it expires after
``SESSION_HOURS`` without a request. It holds the user's id and the stamp of their password, so
a new password or a disabled account ends every session at its next request. The signing key is
a random file in the data directory (``web-secret``, mode 0600); deleting it signs everyone out.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "dossier_session"
LANGUAGE_COOKIE = "dossier_lang"
SESSION_HOURS = 12
SECRET_NAME = "web-secret"

#: The policy of every page Dossier renders: its own styles and images only, no script at all
#: (the pages need none), forms only to itself, framed by nothing; frames only of itself (mail).
PAGE_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def load_secret(data_dir: Path) -> bytes:
    """The key sessions are signed with, made (32 random bytes, mode 0600) when there is none."""
    path = Path(data_dir) / SECRET_NAME
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class Sessions:
    """Reads and writes the signed session cookie."""

    def __init__(self, secret: bytes) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="dossier-session")

    def read(self, request: Request) -> dict[str, Any]:
        value = request.cookies.get(SESSION_COOKIE)
        if not value:
            return {}
        try:
            data = self._signer.loads(value, max_age=SESSION_HOURS * 3600)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, response: Response, request: Request, data: dict[str, Any]) -> None:
        secure = request.url.scheme == "https"
        if data:
            response.set_cookie(SESSION_COOKIE, self._signer.dumps(data), max_age=SESSION_HOURS * 3600, path="/",
                                secure=secure, httponly=True, samesite="lax")
        else:
            response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, made on first use (a signed-out visitor gets one for the sign-in form)."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_ok(session: dict[str, Any], sent: object) -> bool:
    """Whether a form's token is the session's (compared in constant time)."""
    token = session.get("csrf")
    return isinstance(token, str) and isinstance(sent, str) and hmac.compare_digest(token, sent)


def safe_next(target: str | None) -> str:
    """A path on this site to go back to after signing in; anything else (another site) is the start page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/search"
    return target


class SecurityHeaders:
    """Adds the strict headers to every response: CSP (unless the response set its own, as the
    framed mail does), nosniff, no framing, no referrer, no caching of pages that hold mail."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = PAGE_POLICY
                    headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                if scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = "max-age=31536000"
                if "cache-control" not in headers:
                    # Pages hold mail: never kept by a browser or proxy; the style sheet may be.
                    static = scope.get("path", "").startswith("/static/")
                    headers["Cache-Control"] = "private, max-age=3600" if static else "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
