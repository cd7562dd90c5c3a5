"""Several nodes on one archive: the write lock shared by imports and taken alone by everything
else, an account synced by one node at a time, the nightly job run once per scheduled time for
the whole archive, and the nodes `dossier status` lists."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

import config.daemon as daemon
from config import load_settings
from config.lock import claim, write_lock
from tests.conftest import Databases, Dossier, make_message


def test_the_nightly_slot_is_the_latest_scheduled_time_in_utc(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    import time

    time.tzset()
    try:
        now = datetime(2025, 3, 5, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
        assert daemon.latest_slot("30 2 * * *", now) == datetime(2025, 3, 4, 18, 30)  # 02:30 Shanghai, UTC
        assert daemon.latest_slot("0 * * * *", now) == datetime(2025, 3, 5, 1, 0)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def _counting_nightly(monkeypatch) -> list[str]:
    runs: list[str] = []
    monkeypatch.setattr("config.pipeline.reindex", lambda archive: runs.append(archive.node) or 0)
    monkeypatch.setattr("config.pipeline.relink_all", lambda archive: 0)
    return runs


def _nightly(d: Dossier) -> None:
    settings = load_settings(d.data_dir)
    daemon.nightly_job(str(settings.data_dir), str(settings.config_path))


def test_the_nightly_job_runs_once_per_scheduled_time(dossier: Dossier, monkeypatch):
    runs = _counting_nightly(monkeypatch)
    _nightly(dossier)
    _nightly(dossier)  # the same slot: done already
    assert len(runs) == 1


@pytest.fixture
def two_nodes(tmp_path: Path, postgres: Databases):
    with postgres.new() as url:
        nodes = []
        for name in ("a", "b"):
            d = Dossier(tmp_path / name)
            d.run("init", "--database-url", url, "--engine", "postgres", "--raw-store", tmp_path / "raw")
            nodes.append(d)
        yield nodes


@pytest.mark.postgres
def test_the_nightly_job_runs_once_for_the_archive_whichever_node_comes_first(two_nodes, monkeypatch):
    first, second = two_nodes
    runs = _counting_nightly(monkeypatch)
    # While one node holds the nightly job, another skips it at once.
    with claim(load_settings(first.data_dir), "nightly", "dossier daemon: nightly re-index and re-link") as held:
        assert held is None
        _nightly(second)
    assert runs == []
    _nightly(first)
    _nightly(second)  # after it: done for this slot
    node = json.loads((first.data_dir / "node.json").read_text())["node"]
    assert runs == [node]


@pytest.mark.postgres
def test_an_account_another_node_syncs_is_skipped_naming_it(two_nodes):
    first, second = two_nodes
    for d in two_nodes:
        config = d.data_dir / "dossier.toml"
        config.write_text(config.read_text() + """
[[accounts]]
name = "work"
host = "127.0.0.1"
port = 1
security = "none"
username = "anna"
password_env = "NOT_NEEDED_WHEN_SKIPPED"
""")
    with claim(load_settings(first.data_dir), "account:work", "dossier daemon: sync work"):
        result = second.run("sync", "--account", "work")
    assert "skipped work: being synced by dossier daemon: sync work (pid" in result.stderr
    assert "Synced 0 folders" in result.stdout


@pytest.mark.postgres
def test_imports_share_the_write_lock_and_the_rest_wait_for_them(two_nodes, tmp_path: Path, monkeypatch):
    first, second = two_nodes
    monkeypatch.setenv("DOSSIER_LOCK_WAIT", "0.5")
    (tmp_path / "m.eml").write_bytes(make_message(subject="imported meanwhile"))
    with write_lock(load_settings(first.data_dir), "dossier import /mail (node a)", shared=True):
        assert second.json("import", tmp_path / "m.eml")["stored"] == 1  # another node imports at once
        busy = second.run("relink", expect=1).output
    assert "the archive is busy: dossier import /mail (node a) (pid" in busy and len(busy.splitlines()) == 1
    second.run("relink")
    assert [h["subject"] for h in first.json("search", "meanwhile")] == ["imported meanwhile"]
