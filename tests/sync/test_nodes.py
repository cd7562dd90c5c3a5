"""Two `dossier daemon` nodes on one archive: one PostgreSQL database, one shared raw store, one
Dovecot with several accounts. Every message is stored once, every account is synced, a node
killed mid-sync hands its accounts to the other within an interval, and `dossier check` is clean."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import OWN, Databases, Dossier
from tests.safety.crash import add_customers, generated_messages
from tests.timing import scaled

from .conftest import account_toml
from .dovecot import DovecotServer, Mailbox

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ACCOUNTS = 4
PER_ACCOUNT = 240
#: Minutes between an account's passes on each node: 0.05 is 3 seconds.
INTERVAL = 0.05


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def mailboxes(dovecot_server: DovecotServer) -> Iterator[list[Mailbox]]:
    boxes = [dovecot_server.add_mailbox() for _ in range(ACCOUNTS)]
    try:
        yield boxes
    finally:
        for box in boxes:
            dovecot_server.remove_mailbox(box)


def _accounts(boxes: list[Mailbox]) -> str:
    return "".join(account_toml(box, name=f"rep{n}", password_env=f"DOSSIER_TEST_PW_{n}",
                                extra=f"interval = {INTERVAL}") for n, box in enumerate(boxes))


class Node:
    def __init__(self, dossier: Dossier, env: dict[str, str]) -> None:
        self.dossier = dossier
        self.env = env
        self.log = dossier.data_dir.parent / f"{dossier.data_dir.name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "config.cli", "--data-dir", str(self.dossier.data_dir), "daemon"],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "a"), env=self.env)

    @property
    def node_id(self) -> str:
        return json.loads((self.dossier.data_dir / "node.json").read_text())["node"]

    def events(self, kind: str) -> list[dict]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [e for e in (json.loads(line) for line in lines if line.startswith("{")) if e.get("event") == kind]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, sig)
            self.process.wait(timeout=scaled(60))


@pytest.mark.slow
def test_two_nodes_share_the_accounts_store_each_message_once_and_take_over_from_a_dead_one(
        tmp_path: Path, postgres: Databases, mailboxes: list[Mailbox]):
    messages = generated_messages(ACCOUNTS * PER_ACCOUNT + 60, seed=11)
    shared = messages[-60:]  # in two accounts each: archived once, with a copy per account
    for n, box in enumerate(mailboxes):
        own = messages[n * PER_ACCOUNT:(n + 1) * PER_ACCOUNT]
        half = PER_ACCOUNT // 2
        box.load_maildir("INBOX", own[:half] + shared[n * 15:(n + 1) * 15])
        box.load_maildir("Customers", own[half:] + shared[((n + 1) % ACCOUNTS) * 15:((n + 1) % ACCOUNTS + 1) * 15])
    env = {**os.environ, **{f"DOSSIER_TEST_PW_{n}": box.password for n, box in enumerate(mailboxes)}}
    raw = tmp_path / "shared-raw"  # the shared file system
    with postgres.new() as url:
        first = Dossier(tmp_path / "node-a")
        first.run("init", "--database-url", url, "--engine", "postgres", "--raw-store", raw, "--own-domain", OWN)
        add_customers(first)
        second = Dossier(tmp_path / "node-b")
        second.run("init", "--database-url", url, "--engine", "postgres", "--raw-store", raw, "--own-domain", OWN)
        for d in (first, second):
            config = d.data_dir / "dossier.toml"
            # Small batches: a node killed mid-sync dies between commits of one pass.
            config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 20")
                              .replace("fsync = true", "fsync = false") + _accounts(mailboxes))
        nodes = [Node(first, env), Node(second, env)]
        try:
            for node in nodes:
                node.start()

            def stored() -> int:
                return first.json("status")["messages"]

            # Both nodes work: each holds some account while the first pass is under way.
            holders: set[str] = set()

            def both_busy() -> bool:
                for state in first.json("status").get("nodes", []):
                    if state["holds"]:
                        holders.add(state["id"])
                return len(holders) == 2

            _wait_for(both_busy, 120, "both nodes to hold an account")
            # Kill the node that holds an account, between two of its commits.
            status = first.json("status")
            busy = next(s["id"] for s in status["nodes"] if s["holds"])
            victim = next(n for n in nodes if n.node_id == busy)
            survivor = next(n for n in nodes if n is not victim)
            victim.stop(signal.SIGKILL)
            killed_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            # Mail arriving afterwards in every account: the survivor fetches it all.
            late = [m.replace(b"@example.org>", b"@late.example.org>")  # Message-IDs of their own
                    for m in generated_messages(ACCOUNTS * 10, seed=12)]
            for n, box in enumerate(mailboxes):
                box.append("INBOX", late[n * 10:(n + 1) * 10])
            want = len(messages) + len(late)
            _wait_for(lambda: stored() == want, 300, f"{want} messages stored")

            def every_account_synced() -> bool:
                rows = first.json("status")["sync"]
                done = {r["account"] for r in rows if r["folder"] and r["last_success"] and not r["error"]}
                return done == {f"rep{n}" for n in range(ACCOUNTS)}

            _wait_for(every_account_synced, 120, "every account synced")

            def survivor_synced_every_account() -> bool:
                after = {e["account"] for e in survivor.events("sync") if e["time"] > killed_at}
                return after == {f"rep{n}" for n in range(ACCOUNTS)}

            # The accounts the victim held are the survivor's from its next pass on.
            _wait_for(survivor_synced_every_account, 60, "the survivor to sync every account")
            status = first.json("status")
            states = {s["id"]: s for s in status["nodes"]}
            assert states[survivor.node_id]["alive"] and not states[victim.node_id]["alive"]
        finally:
            for node in nodes:
                node.stop()
        assert survivor.process.returncode == 0
        for d in (first, second):
            status = d.json("status")
            assert status["messages"] == want and status["failed"] == 0 and status["pending_index"] == 0
            assert status["index_documents"] == want
        copies = sum(r["messages"] for r in first.json("status")["sync"])
        assert copies == len(messages) + len(late) + len(shared)  # the shared ones: a copy in each of two accounts
        for d in (first, second):
            report = json.loads(d.run("check", "--json").stdout)
            assert report["clean"], report["findings"][:10]
        # Searching from either node finds what the other stored.
        assert first.json("search", "quotation", "--limit", "5") == second.json("search", "quotation", "--limit", "5")
        text = second.run("status").stdout
        assert "Nodes" in text and victim.node_id[:8] in text and "no daemon" in text
