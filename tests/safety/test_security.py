"""Search and show never execute or render message content; the raw store key never leaks."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ingest import hash_bytes
from tests.conftest import Dossier

HTML = (b"From: Shop <shop@acme-industrial.com>\r\nTo: rep@northwind-trading.com\r\nSubject: Price list html\r\n"
        b"Date: Tue, 5 Mar 2024 09:30:00 +0000\r\nMessage-ID: <html@x>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>body{color:red}</style><script>alert('pwned')</script></head><body>"
        b"<p>Our <b>valves</b> cost USD 12.</p><img src=\"http://tracker.example/pixel.gif\">"
        b"<iframe src=\"http://evil.example/\"></iframe><a href=\"javascript:alert(2)\">click</a>"
        b"<p>\x1b]8;;http://evil.example\x1b\\\x1b[31mred\x1b[0m</p></body></html>\r\n")


def test_html_is_shown_as_text_never_rendered_or_run(dossier: Dossier, tmp_path: Path):
    (tmp_path / "h.eml").write_bytes(HTML)
    dossier.run("import", tmp_path / "h.eml")
    hits = dossier.json("search", "valves")
    assert [h["subject"] for h in hits] == ["Price list html"]
    shown = dossier.run("show", hash_bytes(HTML)[:12]).stdout
    text = shown + json.dumps(hits) + dossier.run("search", "valves").stdout
    assert "valves" in shown and "USD 12" in shown
    for forbidden in ("<script", "alert(", "<img", "<iframe", "javascript:", "<p>", "body{color", "\x1b"):
        assert forbidden not in text, forbidden


def test_the_raw_store_key_never_reaches_output_or_files(dossier: Dossier, tmp_path: Path, monkeypatch):
    key = base64.b64encode(bytes(range(100, 132))).decode()
    monkeypatch.setenv("DOSSIER_TEST_RAW_KEY", key)
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace('key_env = ""', 'key_env = "DOSSIER_TEST_RAW_KEY"', 1))
    (tmp_path / "h.eml").write_bytes(HTML)
    outputs = [dossier.run("-vv", "import", tmp_path / "h.eml").output, dossier.run("status").output,
               dossier.run("check").output, dossier.run("-vv", "reindex").output]
    monkeypatch.setenv("DOSSIER_TEST_RAW_KEY", base64.b64encode(bytes(32)).decode())
    outputs.append(dossier.run("show", hash_bytes(HTML)[:12], "--raw", expect=1).output)
    monkeypatch.setenv("DOSSIER_TEST_RAW_KEY", "not a key")
    outputs.append(dossier.run("status", expect=1).output)
    assert not any(key in out or "not a key" in out for out in outputs)
    for path in dossier.data_dir.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


def test_loosened_permissions_are_warned_about_by_name(dossier: Dossier, backend: str):
    assert "warning" not in dossier.run("status").stderr
    # The database file on SQLite; on PostgreSQL (whose database is the server's) the config.
    db, index = dossier.data_dir / ("dossier.db" if backend == "sqlite" else "dossier.toml"), dossier.data_dir / "index"
    db.chmod(0o644)
    index.chmod(0o755)
    warned = dossier.run("status").stderr
    assert f"{db} is readable by other users; run `chmod 600 {db}`" in warned
    assert f"{index} is readable by other users; run `chmod 700 {index}`" in warned
