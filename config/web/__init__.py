"""The web front end: the archive in a browser, with sign-in and per-rep scope (Starlette, Jinja2, uvicorn).

``serve_web`` runs it in the foreground (``dossier web``); ``start_web`` in a thread of the
daemon (``[web] listen``). Only this package knows the web framework.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..settings import ConfigError, Settings

__all__ = ["WebServer", "serve_web", "start_web"]

log = logging.getLogger(__name__)


def _check_listen(host: str, port: int) -> None:
    """Raise ConfigError, in one line with the fix, when ``host``:``port`` cannot be listened on
    (uvicorn would log a traceback-like error and exit)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; give an address of this machine "
                          "with --host or [web] listen") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another port "
                              "(--port or [web] listen) or stop what uses it") from None


def _server(settings: Settings, host: str, port: int):
    import uvicorn

    _check_listen(host, port)
    from .app import create_app

    proxies = list(settings.web_proxies)
    # X-Forwarded-For and -Proto are believed only from the proxies the config lists.
    config = uvicorn.Config(create_app(settings), host=host, port=port, proxy_headers=bool(proxies),
                            forwarded_allow_ips=proxies or None, log_config=None, access_log=False,
                            server_header=False, lifespan="off")
    return uvicorn.Server(config)


def serve_web(settings: Settings, host: str, port: int, *, announce: Callable[[str], None] | None = None) -> None:
    """Serve the web front end on ``host``:``port`` until interrupted; ``announce`` gets its address
    once it can listen. Raises ConfigError when it cannot."""
    server = _server(settings, host, port)
    log.info("serving the web front end on http://%s:%d/", host, port)
    if announce is not None:
        announce(f"http://{host}:{port}/")
    server.run()


class WebServer:
    """The web front end running in a thread (the daemon's), stopped with :meth:`stop`."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        self._server = _server(settings, host, port)
        self._thread = threading.Thread(target=self._server.run, name="dossier-web", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


def start_web(settings: Settings, host: str, port: int) -> WebServer:
    """Start serving in a thread of this process; returns the server to stop."""
    server = WebServer(settings, host, port)
    server.start()
    log.info("serving the web front end on http://%s:%d/", host, port, extra={"event": "web", "port": port})
    return server
