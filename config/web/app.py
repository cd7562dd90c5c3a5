"""The web front end as one ASGI application (Starlette): its routes and what every request shares."""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..archive import KeptArchive
from ..settings import Settings
from . import access, mailpages, pages
from .auth import SecurityHeaders, Sessions, load_secret
from .render import HERE, LANGUAGES, make_environment


class WebState:
    """What every request shares: the archive kept open, the session signer, the templates."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.archive = KeptArchive(settings)
        self.sessions = Sessions(load_secret(settings.data_dir))
        zone = time_zone(settings)
        self.environments = {language: make_environment(language, zone) for language in LANGUAGES}

    def close(self) -> None:
        self.archive.close()


def time_zone(settings: Settings) -> tzinfo:
    """``[web] timezone``, else the server's own zone."""
    if settings.web_timezone:
        return ZoneInfo(settings.web_timezone)
    return datetime.now().astimezone().tzinfo


def _home(_request) -> RedirectResponse:
    return RedirectResponse("/search", status_code=303)


def create_app(settings: Settings) -> Starlette:
    """The application serving the archive ``settings`` name."""
    routes = [
        Route("/", _home),
        Route("/signin", access.signin_page, methods=["GET"]),
        Route("/signin", access.signin_submit, methods=["POST"]),
        Route("/signout", access.signout_submit, methods=["POST"]),
        Route("/lang/{code}", access.language_switch, methods=["GET"]),
        Route("/search", pages.search_page),
        Route("/search.csv", pages.search_export),
        Route("/customers", pages.customers_page),
        Route("/customer/{name:path}", pages.customer_page),
        Route("/quotes", pages.quotes_page),
        Route("/markets", pages.markets_page),
        Route("/status", pages.status_page),
        Route("/audit", pages.audit_page),
        Route("/handover", access.handover_page, methods=["GET"]),
        Route("/handover", access.handover_submit, methods=["POST"]),
        Route("/message/{ident}", mailpages.message_page),
        Route("/message/{ident}/frame", mailpages.message_frame),
        Route("/message/{ident}/raw", mailpages.message_raw),
        Route("/message/{ident}/attachment/{number:int}", mailpages.message_attachment),
        Route("/thread/{ident}", mailpages.thread_page),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
    app.state.web = WebState(settings)
    return app
