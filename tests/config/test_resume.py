"""A killed import resumes cleanly; broken input is kept and counted, never dropped."""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Dossier, make_message
from tests.timing import scaled


def _big_mbox(path: Path, count: int) -> Path:
    box = mailbox.mbox(str(path))
    for i in range(count):
        box.add(make_message(subject=f"Order {i} confirmed", message_id=f"<order{i}@example.org>",
                             body=f"Order number {i}. " + "Details follow. " * 50))
    box.flush()
    box.close()
    return path


def test_import_killed_midway_resumes_without_loss_or_duplicates(dossier: Dossier, tmp_path: Path):
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 20"))
    box = _big_mbox(tmp_path / "orders.mbox", 1500)
    cmd = [sys.executable, "-m", "config.cli", "--data-dir", str(dossier.data_dir), "import", str(box)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it once some batches are committed but before the end.
    deadline = time.monotonic() + scaled(60)
    while time.monotonic() < deadline and proc.poll() is None:
        if dossier.json("status")["messages"] >= 100:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the import finished before it could be killed; make the mbox larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    interrupted = dossier.json("status")
    assert 0 < interrupted["messages"] < 1500

    report = dossier.json("import", box)
    assert report["seen"] == 1500 and report["stored"] + report["duplicates"] == 1500
    status = dossier.json("status")
    assert status["messages"] == 1500 and status["failed"] == 0
    assert status["indexed"] == 1500 and status["pending_index"] == 0 and status["index_documents"] == 1500
    assert len(dossier.json("search", "confirmed", "--limit", "2000")) == 1500


def test_truncated_message_and_garbage_mbox_are_kept_and_counted(dossier: Dossier, tmp_path: Path):
    whole = make_message(subject="Truncated quote", message_id="<t@x>", body="Price list follows " * 100)
    (tmp_path / "truncated.eml").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "garbage.mbox").write_bytes(os.urandom(4096))
    report = dossier.json("import", tmp_path)
    assert report["seen"] == report["stored"] + report["failed"] + report["duplicates"]
    assert report["stored"] >= 1  # the truncated message still has its headers
    assert [h["subject"] for h in dossier.json("search", "truncated")] == ["Truncated quote"]
