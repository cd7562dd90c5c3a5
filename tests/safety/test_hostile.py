"""Hostile and broken input, end to end through `dossier import`: bounded time and memory,
no crash, every input stored byte for byte (as a message or as a failure), nothing used as a path."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select

from config.archive import Archive
from config.settings import load_settings
from ingest import AttachmentRow, Message, ParticipantRow, hash_bytes
from tests.conftest import REPO, Dossier, make_message
from tests.timing import scaled

HEAD = (b"From: Mallory <mallory@evil.example>\r\nTo: rep@northwind-trading.com\r\n"
        b"Date: Tue, 5 Mar 2024 09:30:00 +0000\r\nMessage-ID: <%s@evil.example>\r\n")


def _import(dossier: Dossier, tmp_path: Path, data: bytes, name: str = "m.eml", *, seconds: float = 30) -> dict:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    started = time.monotonic()
    report = dossier.json("import", path)
    elapsed = time.monotonic() - started
    assert elapsed < scaled(seconds), f"{name} took {elapsed:.1f} s"
    assert report["seen"] == 1 and report["stored"] + report["failed"] == 1
    _assert_stored(dossier, data)
    path.unlink()
    return report


def _assert_stored(dossier: Dossier, data: bytes) -> Message:
    archive = Archive(load_settings(dossier.data_dir))
    try:
        sha = hash_bytes(data)
        assert archive.raw.get(sha) == data
        with archive.sessions() as session:
            message = session.scalar(select(Message).where(Message.sha256 == sha))
            assert message is not None
            return message
    finally:
        archive.close()


def _multipart(parts: list[bytes], boundary: bytes = b"b0") -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts) + b"--" + boundary + b"--\r\n"
    return b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\r\n\r\n" + body


def _attachment(name: bytes, data: bytes, mime: bytes = b"application/octet-stream") -> bytes:
    encoded = base64.encodebytes(data)
    return (b"Content-Type: " + mime + b"; name=\"" + name + b"\"\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"" + name + b"\"\r\n\r\n" + encoded)


def _peak_rss_import(data_dir: Path, path: Path) -> tuple[dict, float, int]:
    """Run `dossier import --json PATH` in a child; return its report, seconds and peak RSS in MB."""
    # VmHWM, the peak of this process's own memory: ru_maxrss keeps the peak of the process
    # before exec, which forked from this test run (holding the message) and would count it.
    code = (
        "import re, sys\n"
        "from config.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n"
        "finally:\n    hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "    print('RSS', hwm, file=sys.stderr)\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, "--data-dir", str(data_dir), "import", "--json", str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=scaled(300))
    seconds = time.monotonic() - started
    rss_kb = int(done.stderr.rsplit("RSS", 1)[1].split()[0])
    return json.loads(done.stdout), seconds, rss_kb // 1024


@pytest.mark.slow
def test_a_50_mb_message_is_stored_in_bounded_time_and_memory(dossier: Dossier, tmp_path: Path):
    payload = os.urandom(37 * 1024 * 1024)  # base64: about 50 MB on the wire
    data = HEAD % b"big" + b"Subject: scan\r\nMIME-Version: 1.0\r\n" + _multipart(
        [b"Content-Type: text/plain\r\n\r\nThe scan is attached.", _attachment(b"scan.tif", payload, b"image/tiff")]
    )
    assert len(data) > 50_000_000
    path = tmp_path / "big.eml"
    path.write_bytes(data)
    del payload
    report, seconds, rss_mb = _peak_rss_import(dossier.data_dir, path)
    print(f"50 MB message: {len(data) / 1e6:.1f} MB in {seconds:.1f} s, peak RSS {rss_mb} MB")
    assert report["stored"] == 1 and seconds < scaled(120) and rss_mb < 1500
    message = _assert_stored(dossier, data)
    assert message.status == "ok" and message.subject == "scan"
    assert [h["subject"] for h in dossier.json("search", "scan attached")] == ["scan"]


@pytest.mark.slow
def test_a_10_mb_line(dossier: Dossier, tmp_path: Path):
    data = HEAD % b"line" + b"Subject: long line\r\n\r\n" + b"word " * (2 * 1024 * 1024) + b"\r\n"
    _import(dossier, tmp_path, data, seconds=60)
    assert dossier.json("search", "long line")


@pytest.mark.slow
def test_ten_thousand_mime_parts(dossier: Dossier, tmp_path: Path):
    parts = [b"Content-Type: text/plain\r\n\r\npart %d" % i for i in range(10_000)]
    data = HEAD % b"parts" + b"Subject: many parts\r\nMIME-Version: 1.0\r\n" + _multipart(parts)
    report = _import(dossier, tmp_path, data, seconds=60)
    assert report["stored"] == 1


@pytest.mark.slow
def test_deeply_nested_multiparts(dossier: Dossier, tmp_path: Path):
    inner = b"Content-Type: text/plain\r\n\r\ninnermost words"
    for level in range(2000):
        inner = _multipart([inner], boundary=b"n%d" % level)
    data = HEAD % b"nested" + b"Subject: nested\r\nMIME-Version: 1.0\r\n" + inner
    _import(dossier, tmp_path, data)


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(4):
            archive.writestr(f"xl/worksheets/sheet{n}.xml", b"\0" * (300 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.slow
def test_zip_bomb_and_decompression_bombs_in_attachments(dossier: Dossier, tmp_path: Path):
    bomb = _zip_bomb()
    assert len(bomb) < 5 * 1024 * 1024
    flate = zlib.compress(b"\0" * (500 * 1024 * 1024), 9)  # a PDF stream that inflates to 500 MB
    pdf = b"".join([
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n",
        b"3 0 obj<</Type/Page/Parent 2 0 R/Contents 4 0 R/MediaBox[0 0 612 792]>>endobj\n",
        b"4 0 obj<</Length " + str(len(flate)).encode() + b"/Filter/FlateDecode>>stream\n", flate,
        b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    ])
    data = HEAD % b"bombs" + b"Subject: bombs\r\nMIME-Version: 1.0\r\n" + _multipart([
        b"Content-Type: text/plain\r\n\r\nsee attachments",
        _attachment(b"prices.xlsx", bomb, b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        _attachment(b"prices.docx", bomb, b"application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        _attachment(b"bomb.zip", bomb, b"application/zip"),
        _attachment(b"inflate.pdf", pdf, b"application/pdf"),
    ])
    _import(dossier, tmp_path, data, seconds=90)
    statuses = _attachment_statuses(dossier, data)
    assert statuses["prices.xlsx"].startswith("skipped") and statuses["prices.docx"].startswith("skipped")
    assert dossier.json("search", "see attachments")


def _attachment_statuses(dossier: Dossier, data: bytes) -> dict[str, str]:
    archive = Archive(load_settings(dossier.data_dir))
    try:
        with archive.sessions() as session:
            mid = session.scalar(select(Message.id).where(Message.sha256 == hash_bytes(data)))
            return {a.filename: a.text_status or "" for a in
                    session.scalars(select(AttachmentRow).where(AttachmentRow.message_id == mid))}
    finally:
        archive.close()


@pytest.mark.slow
def test_a_pdf_that_loops(dossier: Dossier, tmp_path: Path):
    # Pages whose Kids point back at themselves, and a content stream that references itself.
    pdf = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
           b"2 0 obj<</Type/Pages/Kids[2 0 R 3 0 R]/Count 2>>endobj\n"
           b"3 0 obj<</Type/Page/Parent 2 0 R/Contents 3 0 R/Resources<</XObject<</X 5 0 R>>>>>>endobj\n"
           b"5 0 obj<</Type/XObject/Subtype/Form/Length 6/Resources<</XObject<</X 5 0 R>>>>>>stream\n/X Do\n"
           b"endstream endobj\ntrailer<</Root 1 0 R/Prev 0>>\nstartxref\n0\n%%EOF\n")
    data = HEAD % b"pdf" + b"Subject: looping pdf\r\nMIME-Version: 1.0\r\n" + _multipart([
        b"Content-Type: text/plain\r\n\r\nthe pdf", _attachment(b"loop.pdf", pdf, b"application/pdf")])
    _import(dossier, tmp_path, data, seconds=60)
    assert _attachment_statuses(dossier, data)["loop.pdf"]  # a status, whatever it is, and no hang


@pytest.mark.slow
def test_invalid_base64_and_quoted_printable(dossier: Dossier, tmp_path: Path):
    data = HEAD % b"enc" + b"Subject: bad encodings\r\nMIME-Version: 1.0\r\n" + _multipart([
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not*base64===\r\nQUJD\r\n=",
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbroken =ZZ soft=\r\n=E4=\r\n=",
        b"Content-Type: application/pdf; name=x.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%%",
    ])
    assert _import(dossier, tmp_path, data)["stored"] == 1
    assert dossier.json("search", "broken")


@pytest.mark.slow
def test_nul_bytes(dossier: Dossier, tmp_path: Path):
    in_body = HEAD % b"nul" + b"Subject: nul in body\r\n\r\nbody with \x00\x00 nul\x00 bytes\r\n"
    assert _import(dossier, tmp_path, in_body)["stored"] == 1
    hits = dossier.json("search", "body")
    assert [h["subject"] for h in hits] == ["nul in body"] and "\\u0000" not in json.dumps(hits)
    # A NUL in one header: dropped, noted on the message, which is searchable and kept byte for byte.
    in_header = HEAD % b"nul2" + b"Subject: nul\x00header\r\n\r\nbody of the salvaged one\r\n"
    assert _import(dossier, tmp_path, in_header)["stored"] == 1
    assert _assert_stored(dossier, in_header).defects == ["NUL bytes in the header block removed"]
    assert [h["subject"] for h in dossier.json("search", "salvaged")] == ["nulheader"]
    assert dossier.run("show", hash_bytes(in_header)[:12], "--raw").stdout_bytes == in_header
    # A header block full of NULs (UTF-16 text, a binary file) is no message: kept as a failure.
    binary = "From: a@b.example\r\nSubject: utf-16\r\n\r\nbody\r\n".encode("utf-16-le")
    assert _import(dossier, tmp_path, binary, "utf16.eml")["failed"] == 1


@pytest.mark.slow
def test_header_injection_in_addresses(dossier: Dossier, tmp_path: Path):
    evil_name = base64.b64encode(b"Boss\r\nBcc: victim@target.example\r\nX-Evil: 1").decode()
    data = (b"From: =?utf-8?b?" + evil_name.encode() + b"?= <boss@evil.example>\r\n"
            b"To: \"a\r\n b\" <rep@northwind-trading.com>, <x@y.example>\r\n\tBcc: folded@target.example\r\n"
            b"Reply-To: <a@b.example>\nBcc: bare-lf@target.example\r\n"
            b"Subject: injection\r\nDate: Tue, 5 Mar 2024 09:30:00 +0000\r\n"
            b"Message-ID: <inj@evil.example>\r\n\r\nhi\r\n")
    _import(dossier, tmp_path, data)
    archive = Archive(load_settings(dossier.data_dir))
    try:
        with archive.sessions() as session:
            rows = session.execute(select(ParticipantRow.role, ParticipantRow.name, ParticipantRow.email)).all()
    finally:
        archive.close()
    assert "victim@target.example" not in {email for _, _, email in rows}
    assert all("\n" not in name and "\r" not in name for _, name, _ in rows)
    shown = dossier.run("show", hash_bytes(data)[:12]).stdout
    assert "\nBcc: victim" not in shown and "\nX-Evil" not in shown


@pytest.mark.parametrize("name", [b"../../../../tmp/dossier-pwned.txt", b"/etc/dossier-pwned", b"..\\..\\win.ini",
                                  b"evil\x1b]0;title\x07\x1b[2J\x08name.txt"])
@pytest.mark.slow
def test_attachment_names_are_never_used_as_paths(dossier: Dossier, tmp_path: Path, name: bytes):
    data = HEAD % b"path" + b"Subject: path names\r\nMIME-Version: 1.0\r\n" + _multipart(
        [b"Content-Type: text/plain\r\n\r\nnames", _attachment(name, b"payload text")])
    before = set(Path("/tmp").iterdir())
    _import(dossier, tmp_path, data)
    assert not Path("/tmp/dossier-pwned.txt").exists() and not Path("/etc/dossier-pwned").exists()
    assert set(Path("/tmp").iterdir()) - before <= {p for p in Path("/tmp").iterdir() if "pytest" in p.name}
    shown = dossier.run("show", hash_bytes(data)[:12]).stdout
    assert "\x1b" not in shown and "\x07" not in shown and "\x08" not in shown
    written = [p for p in dossier.data_dir.rglob("*") if "pwned" in p.name or "name.txt" in p.name]
    assert written == []


def test_mbox_with_from_lines_inside_bodies(dossier: Dossier, tmp_path: Path):
    first = make_message(subject="First", message_id="<f1@x>",
                         body="Dear sir,\n\nFrom the start of our talks\nFrom Ningbo to Hamburg.\n")
    second = make_message(subject="Second", message_id="<f2@x>", body="From here on, prices hold.\n")
    box = b"From alice@example.org Tue Mar  5 09:30:00 2024\n" + first + b"\n" \
          b"From alice@example.org Tue Mar  5 09:31:00 2024\n" + second + b"\n"
    path = tmp_path / "from.mbox"
    path.write_bytes(box)
    report = dossier.json("import", path)
    assert report["seen"] == 2 and report["stored"] == 2
    assert {h["subject"] for h in dossier.json("search", "Ningbo OR prices")} == {"First", "Second"}


def test_mbox_that_ends_mid_message(dossier: Dossier, tmp_path: Path):
    whole = make_message(subject="Whole", message_id="<w@x>")
    cut = make_message(subject="Cut short", message_id="<c@x>", body="Quotation follows " * 200)
    box = (b"From a@b Tue Mar  5 09:30:00 2024\n" + whole + b"\n"
           b"From a@b Tue Mar  5 09:31:00 2024\n" + cut[: len(cut) // 2])
    path = tmp_path / "cut.mbox"
    path.write_bytes(box)
    report = dossier.json("import", path)
    assert report["seen"] == 2 and report["stored"] + report["failed"] == 2
    assert {h["subject"] for h in dossier.json("search", "whole OR cut")} == {"Whole", "Cut short"}


def test_maildir_files_vanishing_during_import(dossier: Dossier, tmp_path: Path, monkeypatch):
    import config.pipeline

    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n in range(30):
        (maildir / "cur" / f"{n}.host:2,S").write_bytes(make_message(subject=f"M{n}", message_id=f"<v{n}@x>"))
    real_iter = config.pipeline.iter_source

    def vanishing(path, **kwargs):
        for number, item in enumerate(real_iter(path, **kwargs)):
            if number == 1:  # after the listing, while the import runs, a mail client deletes files
                for victim in sorted((maildir / "cur").iterdir())[-3:]:
                    victim.unlink()
            yield item

    monkeypatch.setattr(config.pipeline, "iter_source", vanishing)
    result = dossier.run("import", maildir, "--json", expect=1)  # the vanished files are reported
    report = json.loads(result.stdout)
    assert report["stored"] == 27 and report["unreadable"] == 3
    assert result.stderr.count("unreadable:") == 3
    assert dossier.json("status")["messages"] == 27


@pytest.mark.parametrize("sender", [b"Joe (Sales <joe@acme-industrial.com>", b"\"Joe <joe@acme-industrial.com>",
                                    b"Joe \xff\xfe Smith <joe@acme-industrial.com>"])
def test_a_malformed_from_still_links_by_the_address_plainly_there(team: Dossier, tmp_path: Path, sender: bytes):
    team.run("customers", "add", "Acme Industrial", "--domain", "acme-industrial.com")
    data = (b"From: " + sender + b"\r\nTo: rep@northwind-trading.com\r\nSubject: broken sender\r\n"
            b"Date: Tue, 5 Mar 2024 09:30:00 +0000\r\nMessage-ID: <bs@x>\r\n\r\nprices attached\r\n")
    assert _import(team, tmp_path, data)["stored"] == 1
    [hit] = team.json("search", "broken sender")
    assert hit["from"] == "joe@acme-industrial.com" and hit["customers"] == ["Acme Industrial"]
    message = _assert_stored(team, data)
    assert not message.is_internal and message.from_email == "joe@acme-industrial.com"
    assert team.json("check")["clean"]


@pytest.mark.slow
def test_a_150_mb_message_peaks_under_three_times_its_size(dossier: Dossier, tmp_path: Path):
    payload = os.urandom(110 * 1024 * 1024)  # base64: about 150 MB on the wire
    data = HEAD % b"huge" + b"Subject: huge scan\r\nMIME-Version: 1.0\r\n" + _multipart(
        [b"Content-Type: text/plain\r\n\r\nThe huge scan is attached.",
         _attachment(b"scan.tif", payload, b"image/tiff")]
    )
    path = tmp_path / "huge.eml"
    path.write_bytes(data)
    del payload
    report, seconds, rss_mb = _peak_rss_import(dossier.data_dir, path)
    print(f"150 MB message: {len(data) / 1e6:.1f} MB in {seconds:.1f} s, peak RSS {rss_mb} MB")
    assert report["stored"] == 1 and rss_mb * 1024 * 1024 <= 3 * len(data)
    _assert_stored(dossier, data)
    archive = Archive(load_settings(dossier.data_dir))
    try:
        with archive.sessions() as session:
            sizes = session.execute(select(AttachmentRow.filename, AttachmentRow.size)).all()
    finally:
        archive.close()
    assert sizes == [("scan.tif", 110 * 1024 * 1024)]  # its real size, though the parser never read it
    assert _attachment_statuses(dossier, data) == {"scan.tif": "skipped: 110 MB is over the 25 MB limit"}
    assert [h["subject"] for h in dossier.json("search", "huge scan attached")] == ["huge scan"]
