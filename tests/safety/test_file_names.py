"""File names and trees as exports really arrive: names that are not UTF-8, folders 1,100 deep.
Every readable message is stored, indexed and found, and `dossier check` is clean."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.sources import iter_source
from tests.conftest import Dossier, make_message

#: 报价单 (quotation) as Chinese Windows writes it: GBK bytes, not UTF-8.
GBK_NAME = "报价单".encode("gbk")
SHOWN = GBK_NAME.decode("utf-8", "replace")


def _write(directory: bytes, name: bytes, data: bytes) -> None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as fh:
        fh.write(data)


def test_gbk_file_names_import_with_the_rest_of_the_folder(dossier: Dossier, tmp_path: Path):
    root = os.fsencode(tmp_path / "export")
    _write(root, GBK_NAME + b".eml", make_message(subject="GBK named quotation", message_id="<gbk1@x>"))
    for n in range(5):
        _write(root, b"plain%d.eml" % n, make_message(subject=f"Plain {n}", message_id=f"<plain{n}@x>"))
    # A subfolder and an mbox with GBK names too.
    _write(root + b"/" + GBK_NAME, b"inner.eml", make_message(subject="In a GBK folder", message_id="<gbk2@x>"))
    box = (b"From a@b Tue Mar  5 09:30:00 2024\n" + make_message(subject="Mbox one", message_id="<mb1@x>") + b"\n"
           b"From a@b Tue Mar  5 09:31:00 2024\n" + make_message(subject="Mbox two", message_id="<mb2@x>") + b"\n")
    _write(root, GBK_NAME + b".mbox", box)

    report = dossier.json("import", tmp_path / "export")
    assert report == {**report, "seen": 9, "stored": 9, "failed": 0, "unreadable": 0}
    assert dossier.json("check")["clean"]
    subjects = {h["subject"] for h in dossier.json("search", "", "--limit", "100")}
    assert {"GBK named quotation", "In a GBK folder", "Mbox one", "Mbox two"} <= subjects
    hit = dossier.json("search", "GBK folder")[0]
    assert hit["folders"] == ["local:" + SHOWN]  # the bad bytes shown as replacement characters
    # Running it again adds nothing and still works.
    again = dossier.json("import", tmp_path / "export")
    assert again["stored"] == 0 and again["duplicates"] == 9


def test_a_bad_name_is_kept_losslessly_for_reading(tmp_path: Path):
    root = os.fsencode(tmp_path)
    data = make_message(subject="bytes", message_id="<b@x>")
    _write(root, GBK_NAME + b".eml", data)
    [item] = list(iter_source(tmp_path / os.fsdecode(GBK_NAME + b".eml")))
    assert item.data == data
    assert item.origin == f"{tmp_path}/{SHOWN}.eml" and "\ufffd" in SHOWN
    assert os.fsencode(os.fsdecode(GBK_NAME + b".eml")) == GBK_NAME + b".eml"  # the round trip a walk relies on


@pytest.fixture
def deep_tree(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A folder with a chain of 1,100 folders under it; removed bottom-up afterwards, because
    Python 3.11's shutil.rmtree (pytest's own clean-up of old temporary folders) recurses and fails."""
    top = path = tmp_path / "deep"
    top.mkdir()
    for _ in range(1100):  # one level at a time: Path.mkdir(parents=True) itself recurses
        path = path / "d"
        path.mkdir()
    yield top, path
    while path != top:
        for entry in path.iterdir():
            entry.unlink()
        path.rmdir()
        path = path.parent


def test_a_tree_1100_folders_deep(dossier: Dossier, deep_tree: tuple[Path, Path]):
    deep, path = deep_tree
    (path / "m.eml").write_bytes(make_message(subject="At the bottom", message_id="<deep@x>"))
    (deep / "top.eml").write_bytes(make_message(subject="At the top", message_id="<top@x>"))
    report = dossier.json("import", deep)
    assert report["stored"] == 2 and report["unreadable"] == 0
    assert [h["subject"] for h in dossier.json("search", "bottom")] == ["At the bottom"]
    assert dossier.json("check")["clean"]
