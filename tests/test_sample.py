"""The bundled sample (sample/) is exactly what scripts/make_sample.py generates, and every message parses."""

from __future__ import annotations

import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample"
SCRIPT = ROOT / "scripts" / "make_sample.py"
FOLDERS = ("", ".Sent", ".Customers.Acme", ".Customers.Haitong", ".Customers.Taipei")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _message_files() -> list[Path]:
    return sorted(p for p in (SAMPLE / "mailbox").rglob("*")
                  if p.is_file() and p.parent.name in ("cur", "new"))


def test_generator_reproduces_committed_sample(tmp_path):
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True)
    generated, committed = _tree(tmp_path), _tree(SAMPLE)
    assert sorted(generated) == sorted(committed), "file lists differ: re-run scripts/make_sample.py"
    differing = [name for name in generated if generated[name] != committed[name]]
    assert not differing, f"re-run scripts/make_sample.py; these differ: {differing}"


def test_maildir_layout():
    for folder in FOLDERS:
        base = SAMPLE / "mailbox" / folder if folder else SAMPLE / "mailbox"
        for sub in ("cur", "new", "tmp"):
            assert (base / sub).is_dir(), f"{base / sub} missing"
        if folder:
            assert (base / "maildirfolder").is_file()
    files = _message_files()
    assert len(files) == 35  # 34 distinct messages, one filed in two folders
    assert len({f.read_bytes() for f in files}) == 34
    for f in files:
        if f.parent.name == "cur":
            assert f.name.endswith(".dossier-sample:2,S") or f.name.endswith(".dossier-sample:2,RS"), f.name
        else:
            assert f.name.endswith(".dossier-sample"), f.name


@pytest.mark.parametrize("path", _message_files(), ids=lambda p: p.relative_to(SAMPLE / "mailbox").as_posix())
def test_message_parses_with_required_headers(path):
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["From"] is not None and msg["From"].addresses
    assert msg["Date"] is not None and msg["Date"].datetime is not None
    assert msg["Message-ID"] and msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith(">")
    assert msg["Subject"]
    body = msg.get_body(preferencelist=("plain", "html"))
    assert body is not None and body.get_content().strip()
    assert not [d for part in msg.walk() for d in part.defects]
