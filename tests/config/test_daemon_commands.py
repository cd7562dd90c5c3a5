"""Read-only commands answered by a running `dossier daemon` (config/serve.py, config/client.py).

The daemon and the `dossier` entry point run as real processes on the bundled sample archive.
What a user relies on: a served command prints exactly what it prints on its own, with the same
exit status; it sees mail imported and indexes rebuilt while the daemon runs; and the daemon
never answers for another archive, never runs a command that writes, and a dead daemon's socket
does not break anything.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.client import SOCKET_NAME, receive_message, route, send_message
from tests.conftest import REPO, Dossier, make_message


def _sample(root: Path) -> Dossier:
    d = Dossier(root / "data")
    d.run("init", "--own-domain", "northwind-trading.com")
    d.run("customers", "import", REPO / "sample" / "customers.csv")
    d.run("import", REPO / "sample" / "mailbox", "--account", "sample")
    return d


@pytest.fixture
def sample(tmp_path: Path) -> Dossier:
    return _sample(tmp_path)


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
    running = Daemon(_sample(root), root / "daemon.log")
    yield running
    running.stop()


def dossier(data_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`dossier ARGS` through the installed entry point, in a process of its own."""
    return subprocess.run([sys.executable, "-m", "config.client", "--data-dir", str(data_dir), *args],
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
    ("search", "quotation", "--customer", "no such customer"),  # an error: one line, exit 1
    ("search", "--since", "yesterday"),  # a usage error from click itself
    ("search", "--help"),
    ("thread", "<nw.20240723.1620.al@northwind-trading.com>"),
    ("customers", "show", "acme"),
    ("customers", "list", "--json"),
    ("quotes", "--customer", "Haitong"),
])
def test_a_served_command_prints_what_it_prints_on_its_own(unchanged: Daemon, args):
    before = len(unchanged.events("served"))
    served = dossier(unchanged.dossier.data_dir, *args)
    assert len(unchanged.events("served")) == before + 1, "the daemon did not answer"
    alone = on_its_own(unchanged.dossier.data_dir, *args)
    assert same(served, alone), (served, alone)
    assert served.stdout or served.stderr


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
    assert "Quotation" in dossier(sample.data_dir, "search", "quotation").stdout
    assert len(daemon.events("served")) == 1


def _ask(path: Path, argv: list[str]) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(path))
        send_message(sock, {"version": 1, "argv": argv, "cwd": "/", "env": dict(os.environ), "columns": 80})
        return receive_message(sock)


def test_the_daemon_never_runs_a_command_that_writes(unchanged: Daemon, tmp_path: Path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "1.eml").write_bytes(make_message(subject="written", message_id="<w@x.org>"))
    sample = unchanged.dossier
    for argv in (["import", str(tmp_path / "new")], ["customers", "add", "Someone"], ["reindex"],
                 ["--verbose", "search", "x"]):
        assert _ask(unchanged.socket, ["--data-dir", str(sample.data_dir), *argv]) == {"served": False}
    assert sample.json("status")["messages"] == 34
    assert sample.json("search", "written") == []


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


def test_route_finds_the_served_command_and_its_archive(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DOSSIER_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert route(["search", "x"]) == (("search",), str(tmp_path / "home"))
    assert route(["--data-dir", "/a", "customers", "show", "acme"]) == (("customers", "show"), "/a")
    assert route(["--config", "c.toml", "search", "x", "--data-dir", "rel"]) == (("search",), str(tmp_path / "rel"))
    assert route(["--data-dir=/b", "quotes"]) == (("quotes",), "/b")
    for argv in (["import", "x"], ["customers", "add", "x"], ["-v", "search", "x"], ["--help"], [],
                 ["--data-dir"], ["customers"], ["daemon"]):
        assert route(argv) is None, argv
