"""Encryption at rest of the raw store: no plaintext on disk, and everything still works."""

from __future__ import annotations

import base64
import gzip
import json
import os
from pathlib import Path

import pytest

from ingest import RawStore, RawStoreError, hash_bytes
from tests.conftest import REPO, Dossier, make_message

KEY = bytes(range(32))


def _encrypted(dossier: Dossier, monkeypatch, *, key_file: Path | None = None) -> None:
    config = dossier.data_dir / "dossier.toml"
    if key_file is None:
        monkeypatch.setenv("DOSSIER_TEST_RAW_KEY", base64.b64encode(KEY).decode())
        setting = 'key_env = "DOSSIER_TEST_RAW_KEY"'
    else:
        setting = f'key_file = "{key_file}"'
    config.write_text(config.read_text().replace('key_env = ""', setting, 1)
                      if key_file is None else config.read_text().replace('key_file = ""', setting, 1))


def test_encrypted_store_holds_no_plaintext_and_everything_works(dossier: Dossier, tmp_path: Path, monkeypatch):
    _encrypted(dossier, monkeypatch)
    secret = "Confidential-pricing-Zanzibar-4711"
    data = make_message(subject=f"Offer {secret}", message_id="<enc@x>",
                        body=f"The price for {secret} is USD 99.",
                        attachments=(("terms.txt", f"Terms {secret}".encode(), "text/plain"),))
    (tmp_path / "m.eml").write_bytes(data)
    dossier.run("import", tmp_path / "m.eml")
    dossier.run("import", REPO / "sample" / "mailbox")

    # Every file but the raw store's marker, which names the archive it belongs to and nothing else.
    marker = dossier.data_dir / "raw" / "dossier-archive.json"
    assert list(json.loads(marker.read_text())) == ["archive"]
    blobs = [p for p in (dossier.data_dir / "raw").rglob("*") if p.is_file() and p != marker]
    assert blobs and all(p.name.endswith(".eml.gz.enc") for p in blobs)
    for blob in blobs:
        stored = blob.read_bytes()
        assert secret.encode() not in stored and b"Subject:" not in stored
        assert b"\x1f\x8b" not in stored[:40]  # not even gzip underneath the envelope
        with pytest.raises(OSError):
            gzip.decompress(stored)
    sha = hash_bytes(data)
    assert blobs[0].parent.parent.parent == dossier.data_dir / "raw"
    assert (dossier.data_dir / "raw" / sha[:2] / sha[2:4] / f"{sha}.eml.gz.enc").exists()  # still by plaintext hash

    assert [h["subject"] for h in dossier.json("search", "Zanzibar")] == [f"Offer {secret}"]
    assert dossier.run("show", sha[:12], "--raw").stdout_bytes == data
    assert secret in dossier.run("show", sha[:12]).stdout
    assert json.loads(dossier.run("check", "--json").stdout)["clean"]
    dossier.run("reindex")
    assert dossier.json("search", "Zanzibar")

    # Without the key: one clear line, never garbage.
    monkeypatch.delenv("DOSSIER_TEST_RAW_KEY")
    failed = dossier.run("show", sha[:12], "--raw", expect=1)
    assert "DOSSIER_TEST_RAW_KEY" in failed.output and len(failed.output.strip().splitlines()) == 1
    # With a wrong key: the blob is refused, not mis-read.
    monkeypatch.setenv("DOSSIER_TEST_RAW_KEY", base64.b64encode(os.urandom(32)).decode())
    wrong = dossier.run("show", sha[:12], "--raw", expect=1)
    assert "cannot be decrypted" in wrong.output


def test_key_file_must_be_private_and_well_formed(dossier: Dossier, tmp_path: Path, monkeypatch):
    key_file = tmp_path / "raw.key"
    key_file.write_text(KEY.hex() + "\n")
    key_file.chmod(0o644)
    _encrypted(dossier, monkeypatch, key_file=key_file)
    assert "chmod 600" in dossier.run("status", expect=1).output
    key_file.chmod(0o600)
    (tmp_path / "m.eml").write_bytes(make_message())
    dossier.run("import", tmp_path / "m.eml")
    assert [p.name.endswith(".enc") for p in (dossier.data_dir / "raw").rglob("*.enc")] == [True]
    key_file.write_text("too short")
    assert "32 bytes" in dossier.run("status", expect=1).output


def test_store_level_blob_is_bound_to_its_hash(tmp_path: Path):
    store = RawStore(tmp_path / "raw", key=KEY, fsync=False)
    a, _ = store.put(b"Subject: a\r\n\r\na")
    b, _ = store.put(b"Subject: b\r\n\r\nb")
    store.path_for(a).write_bytes(store.path_for(b).read_bytes())  # swap one sealed blob for another
    with pytest.raises(RawStoreError, match="cannot be decrypted"):
        store.get(a)
    assert store.get(b) == b"Subject: b\r\n\r\nb"
    plain = RawStore(tmp_path / "raw")  # no key: encrypted blobs are refused with a reason
    with pytest.raises(RawStoreError, match="no key is configured"):
        plain.get(b)
