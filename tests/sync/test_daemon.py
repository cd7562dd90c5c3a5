"""`dossier daemon` as a real subprocess against a real Dovecot, and the archive's write lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from config import load_settings
from config.lock import write_lock
from tests.conftest import Dossier, make_message
from tests.timing import scaled

from .conftest import Mailbox, account_toml


def _wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _daemon(dossier: Dossier, password: str) -> subprocess.Popen:
    env = {**os.environ, "DOSSIER_TEST_IMAP_PASSWORD": password}
    return subprocess.Popen(
        [sys.executable, "-m", "config.cli", "--data-dir", str(dossier.data_dir), "daemon"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )


@pytest.fixture
def configured(dossier: Dossier, dovecot: Mailbox, monkeypatch) -> Dossier:
    monkeypatch.setenv("DOSSIER_TEST_IMAP_PASSWORD", dovecot.password)
    config = dossier.data_dir / "dossier.toml"
    # interval in minutes: 0.02 is a sync every 1.2 s
    config.write_text(config.read_text() + account_toml(dovecot, extra="interval = 0.02"))
    return dossier


def _count(dossier: Dossier) -> int:
    return dossier.json("status")["messages"]


def test_daemon_archives_mail_appended_while_it_runs_and_stops_on_sigterm(configured, dovecot):
    dovecot.append("INBOX", [make_message(subject="first", message_id="<d1@x.org>")])
    daemon = _daemon(configured, dovecot.password)
    try:
        assert _wait_for(lambda: _count(configured) == 1), daemon.stderr.read() if daemon.poll() else ""
        dovecot.append("INBOX", [make_message(subject="second", message_id="<d2@x.org>")])
        assert _wait_for(lambda: _count(configured) == 2)
        # A second daemon on the same archive refuses to start, naming the first.
        second = _daemon(configured, dovecot.password)
        _, err = second.communicate(timeout=scaled(30))
        assert second.returncode == 1
        assert "busy" in err and "dossier daemon" in err and str(daemon.pid) in err
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=scaled(60))
    assert daemon.returncode == 0, err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(e.get("event") == "sync" and e.get("account") == "work" for e in events)
    assert events[-1]["event"] == "stopped"
    assert dovecot.password not in out + err
    assert [h["subject"] for h in configured.json("search", "first OR second")] == ["second", "first"] or \
        sorted(h["subject"] for h in configured.json("search", "first OR second")) == ["first", "second"]


def test_schedule_survives_a_restart(configured, dovecot):
    daemon = _daemon(configured, dovecot.password)
    try:
        assert _wait_for(lambda: configured.json("status")["sync"] != [])
    finally:
        daemon.send_signal(signal.SIGINT)
        daemon.communicate(timeout=scaled(60))
    assert daemon.returncode == 0
    import sqlalchemy as sa

    from config.daemon import job_table

    settings = load_settings(configured.data_dir)
    node = json.loads((configured.data_dir / "node.json").read_text())["node"]
    engine = sa.create_engine(settings.database_url)
    with engine.connect() as connection:  # the node's own schedule, in the archive's database
        jobs = set(connection.scalars(sa.text(f"SELECT id FROM {job_table(settings, node)}")))
    engine.dispose()
    assert jobs == {"sync:work", "nightly"}


def test_a_writer_waits_for_the_lock_or_names_its_holder(dossier: Dossier, monkeypatch):
    monkeypatch.setenv("DOSSIER_LOCK_WAIT", "0.5")
    # A flock in the data directory on SQLite, a PostgreSQL advisory lock (for every node) on PostgreSQL.
    with write_lock(load_settings(dossier.data_dir), "dossier daemon: sync work"):
        result = dossier.run("relink", expect=1)
    assert "the archive is busy: dossier daemon: sync work (pid" in result.output
    assert "Traceback" not in result.output
    dossier.run("relink")  # free again
