"""Compressed exports as they arrive (Takeout's .tgz and .zip, a web mail's .mbox.gz, a colleague's
zipped Maildir): read as they stream, every message stored, indexed and found; one cut short
imports what it holds and says where it stopped; a bomb stops at its bound."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from ingest.packed import MAX_RATIO
from tests.conftest import Dossier, make_message


def _mbox(prefix: str, count: int) -> bytes:
    return b"".join(b"From a@b Tue Mar  5 09:30:00 2024\n"
                    + make_message(subject=f"{prefix} {n}", message_id=f"<{prefix}{n}@x>",
                                   body=f"{prefix} body {n} " + "quotation text " * 30) + b"\n"
                    for n in range(count))


def _tar(path: Path, files: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _maildir_files(prefix: str, count: int) -> dict[str, bytes]:
    return {f"Maildir/{sub}/{n}.host:2,S": make_message(subject=f"{prefix} {n}", message_id=f"<{prefix}m{n}@x>")
            for n in range(count) for sub in ("cur",)}


def _subjects(dossier: Dossier) -> set[str]:
    return {h["subject"] for h in dossier.json("search", "", "--limit", "1000")}


def test_gzip_zip_and_tar_exports_import_every_message(dossier: Dossier, tmp_path: Path):
    gz = tmp_path / "Inbox.mbox.gz"
    gz.write_bytes(gzip.compress(_mbox("gz", 20)))
    takeout = _tar(tmp_path / "takeout-001.tgz", {"Takeout/Mail/All mail.mbox": _mbox("tgz", 30),
                                                 "Takeout/archive_browser.html": b"<html>not mail</html>"})
    zipped = _zip(tmp_path / "anna.zip", {**_maildir_files("zip", 10), "Maildir/.Sent/cur/1.host:2,S":
                                          make_message(subject="zip sent", message_id="<zs@x>"),
                                          "__MACOSX/Maildir/._junk": b"\0\0"})
    plain_tar = _tar(tmp_path / "hand-off.tar", {"notes/one.eml": make_message(subject="tar one",
                                                                                message_id="<t1@x>")}, "w")
    report = dossier.json("import", gz, takeout, zipped, plain_tar)
    assert report["seen"] == 20 + 31 + 11 + 1 and report["failed"] == 1  # the HTML file: kept as a failure
    assert report["unreadable"] == 0
    subjects = _subjects(dossier)
    assert {"gz 19", "tgz 29", "zip 9", "zip sent", "tar one"} <= subjects
    folders = {h["subject"]: h["folders"] for h in dossier.json("search", "", "--limit", "1000")}
    assert folders["gz 0"] == ["local:Inbox"] and folders["tgz 0"] == ["local:Takeout/Mail/All mail"]
    assert folders["zip 0"] == ["local:Maildir"] and folders["zip sent"] == ["local:Maildir/Sent"]
    assert dossier.json("check")["clean"]
    again = dossier.json("import", gz, takeout, zipped, plain_tar)
    assert again["stored"] == 0 and again["duplicates"] == 63


@pytest.mark.parametrize("kind", ["mbox.gz", "tgz"])
def test_an_export_cut_short_imports_what_it_holds_and_says_where_it_stopped(dossier: Dossier, tmp_path: Path,
                                                                             kind: str):
    if kind == "mbox.gz":
        data = gzip.compress(_mbox("cut", 200))
    else:
        data = _tar(tmp_path / "whole.tgz", {f"Mail/{n}.mbox": _mbox(f"cut{n}x", 20) for n in range(10)}).read_bytes()
    path = tmp_path / f"export.{kind}"
    path.write_bytes(data[: len(data) * 2 // 3])
    result = dossier.run("import", path, "--json", expect=1)
    report = json.loads(result.stdout)
    assert report["stored"] > 10 and report["unreadable"] == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"unreadable: {path}: the archive is cut short or damaged in ")
    assert "what came before was imported" in line
    assert len(_subjects(dossier)) >= report["stored"] - 1 and dossier.json("check")["clean"]


def test_a_zip_cut_short_is_one_line(dossier: Dossier, tmp_path: Path):
    data = _zip(tmp_path / "whole.zip", _maildir_files("z", 20)).read_bytes()
    path = tmp_path / "cut.zip"
    path.write_bytes(data[: len(data) // 2])  # the central directory, at the end, is gone
    result = dossier.run("import", path, expect=1)
    assert result.stderr.splitlines() == [f"unreadable: {path}: cannot read the archive (File is not a zip file); "
                                          "it is cut short or damaged: copy or download it again, or unpack what "
                                          "can be unpacked and import that"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gz", "zip"])
def test_a_decompression_bomb_stops_at_its_bound(dossier: Dossier, tmp_path: Path, kind: str):
    zeros = b"\0" * (300 * 1024 * 1024)
    path = tmp_path / f"bomb.{kind}"
    if kind == "gz":
        path.write_bytes(gzip.compress(make_message(subject="before the bomb", message_id="<bb@x>") + zeros))
    else:
        _zip(path, {"a.eml": make_message(subject="before the bomb", message_id="<bb@x>"), "b.eml": zeros})
    del zeros
    assert path.stat().st_size * MAX_RATIO < 300 * 1024 * 1024
    result = dossier.run("import", path, expect=1)
    assert "decompression bomb" in result.stderr and len(result.stderr.splitlines()) == 1
