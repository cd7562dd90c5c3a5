"""`dossier import` of a Google Takeout mbox and of mboxo files: counts that match a reference
splitter (Python's mailbox), Gmail labels kept and searchable, doubtful counts said."""

from __future__ import annotations

import mailbox
from pathlib import Path

from sqlalchemy import select

from config import Archive, load_settings
from ingest import Message, MessageCopy
from tests.conftest import Dossier
from tests.ingest.test_mbox import mboxo, takeout_mbox


def reference_count(path: Path) -> int:
    box = mailbox.mbox(str(path), create=False)
    try:
        return len(box)
    finally:
        box.close()


def test_takeout_export_imports_every_message_with_its_labels(dossier: Dossier, tmp_path: Path) -> None:
    data, messages = takeout_mbox(30)
    path = tmp_path / "All mail Including Spam and Trash.mbox"
    path.write_bytes(data)

    report = dossier.json("import", path)

    assert report["seen"] == report["stored"] == reference_count(path) == 30
    assert report["failed"] == report["warnings"] == 0
    with Archive(load_settings(dossier.data_dir)).sessions() as session:
        (copy,) = session.scalars(select(MessageCopy).join(Message)
                                  .where(Message.header_message_id == "takeout4@acme.example")).all()
        assert copy.folder == "All mail Including Spam and Trash"
        assert copy.labels and set(copy.labels) <= {"Inbox", "Important", "Opened", "Category Personal",
                                                    "Customers/Acme", "报价", "Orders, 2024"}
    # A label is searched as a folder, as a Gmail label is a folder over IMAP.
    labelled = [m for m in messages if b"Customers/Acme" in m.split(b"\n\n", 1)[0]]
    hits = dossier.json("search", 'folder:"customers/acme"', "--limit", "100")
    assert len(hits) == len(labelled) > 0


def test_mboxo_body_paragraphs_starting_from_leave_no_failed_fragment(dossier: Dossier, tmp_path: Path) -> None:
    data, _ = mboxo(12, quoted=False)
    path = tmp_path / "office.mbox"
    path.write_bytes(data)

    report = dossier.json("import", path)

    assert (report["seen"], report["stored"], report["failed"]) == (12, 12, 0)
    hits = dossier.json("search", '"next Mon"', "--limit", "100")
    assert len(hits) == 12


def test_import_says_when_an_mbox_count_looks_wrong(dossier: Dossier, tmp_path: Path) -> None:
    one = b"From: a@example.com\nSubject: one\nMessage-ID: <1@x>\n\nFirst.\n"
    two = b"From: b@example.com\nDate: Mon, 3 Mar 2025 10:00:00 +0000\nMessage-ID: <2@x>\n\nSecond.\n"
    path = tmp_path / "joined.mbox"
    path.write_bytes(b"From - \n" + one + b"\n" + two)

    result = dossier.run("import", path)

    assert "1 messages seen: 1 stored" in result.stdout
    assert f"warning: {path}#1: 1 more header block(s) with a Message-ID follow its own" in result.stderr
    assert dossier.json("import", path)["warnings"] == 1
