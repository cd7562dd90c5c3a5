"""Read operations answered by a running `dossier daemon` (config/serve.py, config/protocol.py).

The daemon and the `dossier` command run as real processes on the bundled sample archive.
What a user relies on: a command the daemon answers prints exactly what it prints on its own,
with the same exit status; it sees mail imported and indexes rebuilt while the daemon runs; the
daemon answers only typed read operations, never for another archive and never anything that
writes; and a dead daemon's socket, or a daemon speaking another protocol, breaks nothing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from config.archive import Archive
from config.operations import run_operation
from config.protocol import archive_identity, receive_message, send_message
from config.runtime import SOCKET_NAME
from config.settings import load_settings
from tests.conftest import Dossier, build_sample, make_message


@pytest.fixture
def sample(tmp_path: Path) -> Dossier:
    """A sample archive of the test's own (these tests write to it or start daemons on it)."""
    return build_sample(tmp_path / "data")


class Daemon:
    def __init__(self, dossier: Dossier, log: Path) -> None:
        self.dossier = dossier
        self.log = log
        self.socket = dossier.data_dir / SOCKET_NAME
        with log.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "config.cli", "--data-dir", str(dossier.data_dir), "daemon"],
                stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 60
        while not self.events("serving"):
            assert self.process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    def events(self, name: str) -> list[dict]:
        lines = [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]
        return [e for e in lines if e.get("event") == name]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)


@pytest.fixture
def daemon(sample: Dossier, tmp_path: Path):
    running = Daemon(sample, tmp_path / "daemon.log")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def unchanged(tmp_path_factory):
    """The sample archive and its daemon, for tests that only read."""
    root = tmp_path_factory.mktemp("served")
    running = Daemon(build_sample(root / "data"), root / "daemon.log")
    yield running
    running.stop()


def dossier(data_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`dossier ARGS` through the entry point, in a process of its own."""
    return subprocess.run([sys.executable, "-m", "config.cli", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120)


def on_its_own(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return dossier(data_dir, *args, env={"DOSSIER_NO_DAEMON": "1"})


def same(a: subprocess.CompletedProcess, b: subprocess.CompletedProcess) -> bool:
    return (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)


@pytest.mark.parametrize("args", [
    ("search", "quotation", "--customer", "acme"),
    ("search", "报价单", "--json"),
    ("search", "樣品", "--threads"),
    ("search", "FOB Ningbo", "--sort", "relevance", "--limit", "3"),
    ("search", "nosuchwordanywhere"),
    ("search", "((broken"),  # a query error: one line, exit 1
    ("search", "quotation", "--customer", "no such customer"),
    ("thread", "<nw.20240723.1620.al@northwind-trading.com>"),
    ("thread", "<nw.20240723.1620.al@northwind-trading.com>", "--json"),
    ("show", "<nw.20240723.1620.al@northwind-trading.com>"),
    ("show", "ffffffffffff"),
    ("link", "explain", "<nw.20240723.1620.al@northwind-trading.com>"),
    ("customers", "show", "acme"),
    ("customers", "show", "acme", "--json", "--limit", "3"),
    ("customers", "list", "--json"),
    ("customers", "list", "--waiting"),
    ("customers", "list", "--dormant", "1y"),
    ("customers", "list", "--stage", "lost", "--json"),
    ("markets",),
    ("markets", "--json"),
    ("customers", "conflicts"),
    ("customers", "duplicates", "--json"),
    ("unlinked", "--json"),
    ("quotes", "--customer", "Haitong"),
    ("quotes", "--since", "2024-06-01", "--json"),
])
def test_a_served_command_prints_what_it_prints_on_its_own(unchanged: Daemon, args):
    before = len(unchanged.events("served"))
    served = dossier(unchanged.dossier.data_dir, *args)
    assert len(unchanged.events("served")) == before + 1, "the daemon did not answer"
    alone = on_its_own(unchanged.dossier.data_dir, *args)
    assert same(served, alone), (served, alone)
    assert served.stdout or served.stderr


@pytest.mark.parametrize("args", [("search", "--since", "yesterday"), ("search", "--help"), ("--help",)])
def test_usage_errors_and_help_never_reach_the_daemon(unchanged: Daemon, args):
    before = len(unchanged.log.read_text().splitlines())
    served = dossier(unchanged.dossier.data_dir, *args)
    assert same(served, on_its_own(unchanged.dossier.data_dir, *args))
    assert len(unchanged.log.read_text().splitlines()) == before


def test_status_served_is_the_status_computed_here(unchanged: Daemon):
    served = json.loads(dossier(unchanged.dossier.data_dir, "status", "--json").stdout)
    alone = json.loads(on_its_own(unchanged.dossier.data_dir, "status", "--json").stdout)
    # The data directory's size moves with the database's write-ahead log; everything else is equal.
    assert {k: v for k, v in served.items() if k != "data_dir_bytes"} == \
        {k: v for k, v in alone.items() if k != "data_dir_bytes"}
    assert served["messages"] == 34 and len(unchanged.events("served")) >= 1


def _ask(path: Path, request: dict) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(path))
        send_message(sock, request)
        return receive_message(sock)


def _request(data_dir: Path, op: str, args: dict, **changes) -> dict:
    return {"v": 1, "op": op, "args": args,
            "archive": archive_identity(str(data_dir), str(data_dir / "dossier.toml")), **changes}


def test_an_operation_answers_the_read_librarys_json(unchanged: Daemon):
    data_dir = unchanged.dossier.data_dir
    archive = Archive(load_settings(data_dir))
    try:
        for op, args in (("search", {"text": "quotation", "customer": "acme"}),
                         ("customer", {"name": "acme", "limit": 3}),
                         ("thread", {"id": "<nw.20240723.1620.al@northwind-trading.com>"})):
            answer = _ask(unchanged.socket, _request(data_dir, op, args))
            assert answer == {"v": 1, "result": run_operation(archive, op, args)}, op
        answer = _ask(unchanged.socket, _request(data_dir, "customer", {"name": "no such customer"}))
        assert answer["v"] == 1 and "no such customer" in answer["error"]
    finally:
        archive.close()


def test_the_daemon_refuses_writes_unknown_operations_and_bad_requests(unchanged: Daemon, tmp_path: Path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "1.eml").write_bytes(make_message(subject="written", message_id="<w@x.org>"))
    data_dir = unchanged.dossier.data_dir
    refused_before = len(unchanged.events("refused"))
    requests = [
        _request(data_dir, "import", {"paths": [str(tmp_path / "new")]}),
        _request(data_dir, "add_customer", {"name": "Someone"}),
        _request(data_dir, "reindex", {}),
        _request(data_dir, "search", {"text": 5}),  # a wrong type
        _request(data_dir, "search", {"text": "x", "shell": "rm -rf /"}),  # an unknown argument
        _request(data_dir, "thread", {}),  # a missing argument
        _request(data_dir, "search", {"text": "x"}, v=2),  # a protocol it does not speak
        {"version": 1, "argv": ["search", "x"], "cwd": "/", "env": {}},  # the old replayed command line
    ]
    for request in requests:
        answer = _ask(unchanged.socket, request)
        assert set(answer) == {"v", "declined"}, (request, answer)
    assert len(unchanged.events("refused")) == refused_before + len(requests)
    assert unchanged.dossier.json("status")["messages"] == 34
    assert unchanged.dossier.json("search", "written") == []


def test_mail_imported_and_an_index_rebuilt_while_the_daemon_runs_are_found(sample: Dossier, daemon: Daemon,
                                                                          tmp_path: Path):
    assert "No messages found." in dossier(sample.data_dir, "search", "zebracorn").stdout
    new = tmp_path / "new"
    new.mkdir()
    (new / "1.eml").write_bytes(make_message(subject="zebracorn order", sender="laura.whitfield@acme-industrial.com",
                                             message_id="<zebra@acme-industrial.com>"))
    sample.run("import", new, "--account", "later")
    hits = json.loads(dossier(sample.data_dir, "search", "zebracorn", "--json").stdout)
    assert [(h["subject"], h["customers"]) for h in hits] == [("zebracorn order", ["Acme Industrial"])]

    sample.run("reindex")  # a new index directory swapped in under the daemon's open searcher
    after = dossier(sample.data_dir, "search", "zebracorn OR quotation", "--json")
    assert same(after, on_its_own(sample.data_dir, "search", "zebracorn OR quotation", "--json"))
    assert len(json.loads(after.stdout)) == 9
    assert len(daemon.events("served")) == 3 and not daemon.events("declined")


def test_the_daemon_answers_only_for_its_own_archive(sample: Dossier, daemon: Daemon, tmp_path: Path):
    other = Dossier(tmp_path / "other")
    other.run("init")
    # The daemon's data directory, but another database: declined, so the command runs on its own,
    # and refuses: that database holds another archive.
    elsewhere = {"DOSSIER_DATABASE_URL": f"sqlite:///{other.data_dir / 'dossier.db'}"}
    result = dossier(sample.data_dir, "search", "quotation", env=elsewhere)
    assert result.returncode == 1 and result.stdout == "" and "holds another archive" in result.stderr
    assert len(daemon.events("declined")) == 1 and not daemon.events("served")
    # Another config file: declined too.
    config = tmp_path / "copy.toml"
    config.write_text((sample.data_dir / "dossier.toml").read_text())
    assert "Quotation" in dossier(sample.data_dir, "--config", str(config), "search", "quotation").stdout
    assert len(daemon.events("declined")) == 2 and not daemon.events("served")
    assert "Quotation" in dossier(sample.data_dir, "search", "quotation").stdout
    assert len(daemon.events("served")) == 1


def test_the_socket_is_private_and_a_dead_daemons_socket_is_harmless(sample: Dossier, tmp_path: Path):
    first = Daemon(sample, tmp_path / "first.log")
    assert stat.S_IMODE(first.socket.stat().st_mode) == 0o600
    first.stop(signal.SIGKILL)  # no chance to remove its socket
    assert first.socket.exists()
    alone = on_its_own(sample.data_dir, "search", "quotation")
    assert same(dossier(sample.data_dir, "search", "quotation"), alone)

    second = Daemon(sample, tmp_path / "second.log")  # takes over the stale socket
    try:
        assert same(dossier(sample.data_dir, "search", "quotation"), alone)
        assert len(second.events("served")) == 1
    finally:
        second.stop()
    assert not second.socket.exists()


@pytest.mark.parametrize("reply", [{"served": False}, {"v": 2, "result": []}, {"v": 1}])
def test_a_daemon_speaking_another_protocol_is_ignored(sample: Dossier, reply: dict):
    # An older or newer daemon on the socket: the command asks it once, with nothing but the
    # typed request, and then computes the answer itself.
    requests = []
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sample.data_dir / SOCKET_NAME))
    server.listen(1)

    def answer_once() -> None:
        conn, _ = server.accept()
        with conn:
            requests.append(receive_message(conn))
            send_message(conn, reply)

    thread = threading.Thread(target=answer_once)
    thread.start()
    try:
        result = dossier(sample.data_dir, "search", "quotation", "--customer", "acme")
    finally:
        thread.join(timeout=60)
        server.close()
    assert same(result, on_its_own(sample.data_dir, "search", "quotation", "--customer", "acme"))
    (request,) = requests
    assert set(request) == {"v", "op", "args", "archive"} and request["op"] == "search"
    assert request["args"]["text"] == "quotation" and request["args"]["customer"] == "acme"


def test_the_daemon_serves_the_web_front_end_and_believes_forwarded_headers_only_from_its_proxies(
        sample: Dossier, tmp_path: Path):
    import re
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    from tests.web.site import free_port

    port = free_port()
    config = sample.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace('listen = ""', f'listen = "127.0.0.1:{port}"')
                      .replace("proxies = []", 'proxies = ["127.0.0.1"]'))
    sample.runner.invoke(__import__("config.cli", fromlist=["main"]).main,
                         ["--data-dir", str(sample.data_dir), "users", "add", "boss@northwind-trading.com",
                          "--role", "admin"], input="a long test password\n", catch_exceptions=False)
    running = Daemon(sample, tmp_path / "daemon.log")
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        deadline = time.monotonic() + 30
        while True:
            try:
                page = opener.open(f"http://127.0.0.1:{port}/signin", timeout=5).read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "daemon.log").read_text()
                time.sleep(0.2)
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf": token, "email": "boss@northwind-trading.com",
                                       "password": "a long test password", "next": "/customers"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/signin", data=form,
                                         headers={"X-Forwarded-For": "203.0.113.7"})
        with opener.open(request, timeout=30) as answer:
            assert answer.url.endswith("/customers")
    finally:
        running.stop()
    audit = json.loads(sample.run("audit", "--json").stdout)
    assert [(e["action"], e["address"]) for e in audit] == [("signin", "203.0.113.7")]
