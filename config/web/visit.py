"""One request as the pages see it: the signed-in user and their scope, the language, the session,
rendering, and the library's errors turned into the pages people get (404, 403, 400)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from index import SearchIndexError
from ingest import IngestError
from linker import CustomerNotFoundError, LinkError

from ..archive import Archive
from ..queries import MessageNotFoundError, Scope
from ..settings import ConfigError
from ..users import UserRow, active_user, user_scope
from .auth import LANGUAGE_COOKIE, csrf_ok, csrf_token
from .render import choose_language, translations

log = logging.getLogger(__name__)

#: Errors that mean "there is nothing here for you": a page that answers 404, whatever the reason
#: (it does not exist, or it is outside the reader's scope; the words are the same).
NOT_FOUND = (MessageNotFoundError, CustomerNotFoundError)
USER_ERRORS = (ConfigError, IngestError, LinkError, SearchIndexError)


class Forbidden(Exception):
    """The user's role does not allow this page."""


@dataclass
class Visit:
    """A request, the session it carries and who made it."""

    request: Request
    web: Any  # the application's WebState (config.web.app)
    session: dict[str, Any]
    user: UserRow | None = None
    scope: Scope | None = None
    language: str = "en"
    cookies: dict[str, str] = field(default_factory=dict)
    form: Any = None  # a POST's form fields

    def param(self, name: str) -> str:
        """A query-string parameter, stripped ("" when absent)."""
        return self.request.query_params.get(name, "").strip()

    def field(self, name: str) -> str:
        """A posted form field, stripped ("" when absent)."""
        value = self.form.get(name, "") if self.form is not None else ""
        return value.strip() if isinstance(value, str) else ""

    @property
    def archive(self) -> Archive:
        """The archive, kept open between requests (reopened after a config change or a rebuild)."""
        return self.web.archive.get()

    @property
    def address(self) -> str:
        client = self.request.client
        return client.host if client else ""

    def gettext(self, text: str, **values: Any) -> str:
        found = translations(self.language).gettext(text)
        return found % values if values else found

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        env = self.web.environments[self.language]
        html = env.get_template(template).render(
            user=self.user, csrf=csrf_token(self.session), path=self.request.url.path,
            here=self.request.url.path + (f"?{self.request.url.query}" if self.request.url.query else ""),
            **values)
        return HTMLResponse(html, status_code=status)

    def finish(self, response: Response) -> Response:
        self.web.sessions.write(response, self.request, self.session)
        for name, value in self.cookies.items():
            response.set_cookie(name, value, max_age=365 * 86400, path="/", httponly=True, samesite="lax",
                                secure=self.request.url.scheme == "https")
        return response


def start_visit(web: Any, request: Request) -> Visit:
    session = web.sessions.read(request)
    language = choose_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language", ""))
    visit = Visit(request, web, session, language=language)
    uid, stamp = session.get("uid"), session.get("stamp")
    if isinstance(uid, int) and isinstance(stamp, str):
        user = active_user(visit.archive, uid, stamp)
        if user is None:  # disabled, or the password changed: this session is over
            session.pop("uid", None)
            session.pop("stamp", None)
        else:
            visit.user = user
            visit.scope = user_scope(visit.archive.settings, user)
    return visit


def page(*, roles: tuple[str, ...] | None = None, public: bool = False) -> Callable:
    """A page handler ``handler(visit) -> Response``: the visitor must be signed in (else to the
    sign-in page) and hold one of ``roles`` (else 403); a POST must carry the session's CSRF token
    (else 403); the library's not-found errors give 404 and its other user errors 400, each as a
    page. The handler runs in a worker thread (the library blocks)."""

    def wrap(handler: Callable[[Visit], Response]) -> Callable[[Request], Awaitable[Response]]:
        def run(request: Request, form: Any) -> Response:
            web = request.app.state.web
            visit = start_visit(web, request)
            visit.form = form
            try:
                if form is not None and not csrf_ok(visit.session, form.get("csrf")):
                    response: Response = visit.render(
                        "error.html", status=403, title=visit.gettext("Form refused"),
                        message=visit.gettext("This form expired or did not come from Dossier; "
                                              "reload the page and try again."))
                elif visit.user is None and not public:
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    response = RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
                elif roles is not None and (visit.user is None or visit.user.role not in roles):
                    raise Forbidden
                else:
                    response = handler(visit)
            except Forbidden:
                response = visit.render("error.html", status=403, title=visit.gettext("Not allowed"),
                                        message=visit.gettext("Your role does not allow this page."))
            except NOT_FOUND as exc:
                response = visit.render("error.html", status=404, title=visit.gettext("Not found"), message=str(exc))
            except USER_ERRORS as exc:
                response = visit.render("error.html", status=400, title=visit.gettext("Cannot show this"),
                                        message=str(exc))
            return visit.finish(response)

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            form = await request.form() if request.method == "POST" else None
            return await run_in_threadpool(run, request, form)

        return endpoint

    return wrap
