"""A running `dossier web` over a real archive, for the browser tests: the bundled sample, a hostile
HTML mail, four users, and a small HTTP server that counts what a mail tries to load."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import REPO, build_sample
from tests.timing import scaled

PASSWORD = "a long test password"
ADMIN = "admin@northwind-trading.com"
MANAGER = "maria.manager@northwind-trading.com"
TOM = "tom.baker@northwind-trading.com"
ANNA = "anna.li@northwind-trading.com"
HOSTILE_SUBJECT = "Hostile newsletter"
PIXEL = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
         b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tracker:
    """An HTTP server on 127.0.0.1 that records every path a page asked it for."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                self.wfile.write(PIXEL)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def hostile_message(tracker: str) -> bytes:
    """An HTML mail from Acme (so it links to Tom's customer) trying every trick of the issue."""
    html = (REPO / "tests" / "data" / "hostile_html.eml").read_bytes()
    return html.replace(b"TRACKER", tracker.encode())


@dataclass
class Site:
    url: str
    data_dir: Path
    tracker: Tracker
    process: subprocess.Popen
    shots: Path
    dossier: object = field(repr=False, default=None)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.tracker.close()


def start_site(root: Path, shots: Path, database_url: str | None = None) -> Site:
    """The sample (its database at ``database_url``, else SQLite) with the hostile mail and the
    users, served by `dossier web` in a process of its own."""
    d = build_sample(root / "data", database_url)
    tracker = Tracker()
    extra = root / "extra"
    extra.mkdir()
    (extra / "hostile.eml").write_bytes(hostile_message(tracker.url))
    d.run("import", extra, "--account", "sample")
    for email, role in ((ADMIN, "admin"), (MANAGER, "manager"), (TOM, "rep"), (ANNA, "rep")):
        result = d.runner.invoke(__import__("config.cli", fromlist=["main"]).main,
                                 ["--data-dir", str(d.data_dir), "users", "add", email, "--role", role],
                                 input=PASSWORD + "\n", catch_exceptions=False)
        assert result.exit_code == 0, result.output
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = (root / "web.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "tests.web.server", str(d.data_dir), str(port)],
                               cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + scaled(30)
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"dossier web did not start: {(root / 'web.log').read_text()}") from None
            time.sleep(0.1)
    shots.mkdir(parents=True, exist_ok=True)
    return Site(f"http://127.0.0.1:{port}", d.data_dir, tracker, process, shots, d)
