"""Issue 5 through the CLI: attachment text, the query language, quotes and threads."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from config import Archive, load_settings
from ingest import AttachmentRow
from tests.conftest import ENGINES, Dossier, make_message
from tests.ingest.files import make_pdf, make_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

pytestmark = pytest.mark.parametrize("engine", ENGINES)  # every test on every engine


def _day(d: int, month: int = 3) -> datetime:
    return datetime(2025, month, d, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def mail(tmp_path: Path) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir()
    messages = {
        "1.eml": make_message(
            subject="Valves", sender="Anna <anna@northwind-trading.com>", to="Bob <bob@acme-industrial.com>",
            body="Please find our offer attached.", message_id="<q1@northwind-trading.com>", date=_day(3),
            attachments=(
                ("Quotation_Q7.pdf", make_pdf("QUOTATION Q-7", "Zebra valves USD 12,500 FOB Ningbo"),
                 "application/pdf"),
                ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "application/pdf"),
                ("photo.png", b"\x89PNG\r\n", "image/png"),
            ),
        ),
        "2.eml": make_message(
            subject="Re: Valves", sender="Bob <bob@acme-industrial.com>", to="Anna <anna@northwind-trading.com>",
            body="Agreed.\n\nOn Mon, Anna wrote:\n> Please find our offer attached.",
            message_id="<r1@acme-industrial.com>", date=_day(4),
        ),
        "3.eml": make_message(
            subject="回复: Valves", sender="Anna <anna@northwind-trading.com>", to="Bob <bob@acme-industrial.com>",
            body="好的", message_id="<r2@northwind-trading.com>", date=_day(5),
        ),
        "4.eml": make_message(
            subject="報價單", sender="李 <li@example.cn>", to="Anna <anna@northwind-trading.com>",
            body="附件是報價單", message_id="<zh@example.cn>", date=_day(2, 5),
            attachments=(("价格表.xlsx", make_xlsx([["型号", "单价"], ["ZY9", "USD 88"]]), XLSX),),
        ),
    }
    for name, raw in messages.items():
        (folder / name).write_bytes(raw)
    return folder


@pytest.fixture
def archive(dossier: Dossier, mail: Path) -> Dossier:
    dossier.run("import", mail)
    dossier.run("customers", "add", "Acme Industrial", "--domain", "acme-industrial.com")
    return dossier


def _statuses(d: Dossier) -> dict[str, str]:
    archive = Archive(load_settings(d.data_dir))
    try:
        with archive.sessions() as s:
            return {r.filename: r.text_status for r in s.scalars(select(AttachmentRow))}
    finally:
        archive.close()


def test_attachment_text_is_searchable_and_the_hit_names_the_file(archive: Dossier) -> None:
    (hit,) = archive.json("search", "Ningbo")
    assert hit["subject"] == "Valves"
    assert hit["matched_in"] == "attachment" and hit["matched_attachments"] == ["Quotation_Q7.pdf"]
    out = archive.run("search", "Ningbo").output
    assert "in attachment Quotation_Q7.pdf" in out


def test_each_attachment_records_how_its_text_was_read(archive: Dossier) -> None:
    statuses = _statuses(archive)
    assert statuses["Quotation_Q7.pdf"] == "ok"
    assert statuses["broken.pdf"].startswith("failed:")
    assert statuses["photo.png"] == "skipped: no text extractor for image/png"
    assert statuses["价格表.xlsx"] == "ok"
    shown = archive.run("show", "q1@northwind-trading.com").output
    assert "Attachment: broken.pdf (application/pdf, 33 bytes; text failed:" in shown
    assert "Attachment: Quotation_Q7.pdf (application/pdf," in shown


def test_reindex_extracts_attachment_text_again(archive: Dossier) -> None:
    db = Archive(load_settings(archive.data_dir))
    with db.sessions.begin() as s:  # as for mail stored before attachment text was read
        for row in s.scalars(select(AttachmentRow)):
            row.text_status = None
    db.close()
    archive.run("reindex")
    assert [h["subject"] for h in archive.json("search", "单价")] == ["報價單"]
    assert _statuses(archive)["Quotation_Q7.pdf"] == "ok"


def test_query_language_with_customer_names_resolved(archive: Dossier) -> None:
    assert [h["subject"] for h in archive.json("search", "customer:acme")] == ["回复: Valves", "Re: Valves", "Valves"]
    assert [h["subject"] for h in archive.json("search", "customer:acme from:bob")] == ["Re: Valves"]
    assert [h["subject"] for h in archive.json("search", "报价单 date:2025-05")] == ["報價單"]
    assert [h["subject"] for h in archive.json("search", "is:quote", "--customer", "Acme")] == ["Valves"]
    result = archive.run("search", "customer:nobody", expect=1)
    assert "no customer matches 'nobody'" in result.output


def test_malformed_query_is_one_line_and_exit_1(archive: Dossier) -> None:
    result = archive.run("search", "valves AND (FOB", expect=1)
    assert result.output.strip().splitlines() == [
        "Error: query 'valves AND (FOB', column 12: this ( is never closed"
    ]


def test_quotes_lists_newest_first_with_files_and_amounts(archive: Dossier) -> None:
    rows = archive.json("quotes")
    assert [r["subject"] for r in rows] == ["報價單", "Valves"]
    valves = rows[1]
    assert valves["customers"] == ["Acme Industrial"]
    assert valves["files"] == ["Quotation_Q7.pdf"]
    assert valves["amounts"] == ["USD 12,500", "FOB Ningbo"]
    assert [r["subject"] for r in archive.json("quotes", "--customer", "acme")] == ["Valves"]
    assert [r["subject"] for r in archive.json("quotes", "--since", "2025-04-01")] == ["報價單"]
    out = archive.run("quotes").output
    assert "USD 12,500; FOB Ningbo" in out and "Quotation_Q7.pdf" in out


def test_thread_shows_the_conversation_in_order(archive: Dossier) -> None:
    rows = archive.json("thread", "r1@acme-industrial.com")
    assert [r["subject"] for r in rows] == ["Valves", "Re: Valves", "回复: Valves"]
    assert [r["is_selected"] for r in rows] == [False, True, False]
    assert "3 messages in this conversation" in archive.run("thread", "<q1@northwind-trading.com>").output


def test_search_threads_folds_hits_into_conversations(archive: Dossier) -> None:
    threads = archive.json("search", "valves", "--threads")
    assert len(threads) == 1
    assert threads[0]["messages"] == 3 and threads[0]["subject"] == "Valves"
    assert len(threads[0]["hits"]) == 3
    assert "1 conversations" in archive.run("search", "valves", "--threads").output
