"""Interrupted work and outsized fields: Ctrl-C during an import, a reindex killed mid-way, a parser
that crashes on one message, a 1 MB subject. What was done is kept and reported; nothing floods
the terminal."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, Dossier, make_message
from tests.timing import scaled


def _maildir(path: Path, count: int) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        body = f"Order number {n}. " + "Quotation details follow. " * 40
        (path / "cur" / f"{n}.host:2,S").write_bytes(make_message(subject=f"Order {n}", message_id=f"<i{n}@x>",
                                                                  body=body))
    return path


@pytest.mark.slow
def test_ctrl_c_during_an_import_keeps_what_was_stored_and_exits_130(dossier: Dossier, tmp_path: Path):
    mailbox = _maildir(tmp_path / "Maildir", 3000)
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 50"))
    child = subprocess.Popen([sys.executable, "-m", "config.cli", "--data-dir", str(dossier.data_dir), "import",
                              str(mailbox), "--json"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + scaled(60)
    while not list((dossier.data_dir / "raw").glob("??/??/*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until it is storing messages
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=scaled(120))
    assert child.returncode == 130, err
    report = json.loads(out)
    assert report["interrupted"] is True and 0 < report["stored"] < 3000
    assert "Traceback" not in err and err.splitlines()[-1].startswith("interrupted: ")
    assert dossier.json("status")["messages"] == report["stored"]
    assert dossier.json("check")["clean"]  # the batch in flight was committed and indexed
    rest = dossier.json("import", mailbox)
    assert rest["stored"] == 3000 - report["stored"] and "interrupted" not in rest
    assert dossier.json("check")["clean"]


def test_a_reindex_killed_mid_way_leaves_index_new_which_check_reports_and_repair_removes(dossier: Dossier):
    dossier.run("import", REPO / "sample" / "mailbox")
    leftover = dossier.data_dir / "index.new"
    leftover.mkdir()
    (leftover / "segment.half").write_bytes(os.urandom(4096))  # what a killed `dossier reindex` leaves
    report = json.loads(dossier.run("check", "--json", expect=1).stdout)
    assert [(f["kind"], f["subject"]) for f in report["findings"]] == [("partial-index", str(leftover))]
    assert json.loads(dossier.run("check", "--repair", "--json").stdout)["repaired"] == 1
    assert not leftover.exists() and dossier.json("check")["clean"]


def test_a_parser_crash_is_one_line_by_default_and_its_traceback_at_debug(dossier: Dossier, tmp_path: Path,
                                                                          monkeypatch, caplog):
    import ingest

    def crash(raw: bytes, **options):  # stands in for a parser bug on one message (the bug itself is not the point)
        if b"crash me" in raw:
            raise RuntimeError("parser bug")
        return real(raw, **options)

    real = ingest.parse_message
    monkeypatch.setattr(ingest, "parse_message", crash)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.eml").write_bytes(make_message(subject="crash me", message_id="<c@x>", body="crash me"))
    (folder / "b.eml").write_bytes(make_message(subject="fine", message_id="<f@x>"))
    result = dossier.run("import", folder)
    assert "failed: " in result.stdout and "parser error: RuntimeError: parser bug" in result.stdout
    assert "Traceback" not in result.output
    (folder / "c.eml").write_bytes(make_message(subject="crash me", message_id="<c2@x>", body="crash me too"))
    with caplog.at_level(logging.DEBUG, logger="config.readers"):
        dossier.run("-vv", "import", folder)
    records = [r for r in caplog.records if r.name == "config.readers" and "c.eml" in r.getMessage()]
    assert [r.levelno for r in records] == [logging.WARNING, logging.DEBUG]
    assert records[0].exc_info is None and records[1].exc_info is not None
    assert [h["subject"] for h in dossier.json("search", "fine")] == ["fine"]


def test_a_1_mb_subject_is_cut_in_search_results(dossier: Dossier, tmp_path: Path):
    subject = "Quotation " + "x" * 1_000_000
    path = tmp_path / "big.eml"
    path.write_bytes(make_message(subject=subject, message_id="<big@x>", body="long subject inside"))
    dossier.run("import", path)
    [hit] = dossier.json("search", "long subject inside")
    assert hit["subject"].startswith("Quotation xxx") and len(hit["subject"]) == 300 and hit["subject"][-1] == "…"
    assert len(dossier.run("search", "long subject inside").stdout) < 2000
    assert len(dossier.run("search", "long subject inside", "--threads").stdout) < 2000
