"""The raw store keeps exact bytes, writes each blob once, and detects corruption."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from ingest import RawStore, RawStoreError
from ingest.store import STREAM_FROM


def test_put_get_round_trip_is_byte_exact_and_content_addressed(tmp_path: Path):
    store = RawStore(tmp_path / "raw")
    data = b"From: a@b\r\n\r\n\x00\xff binary \xe4\xb8\xad"
    sha, is_new = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest() and is_new
    assert store.get(sha) == data
    assert gzip.decompress(store.path_for(sha).read_bytes()) == data
    assert store.path_for(sha).relative_to(tmp_path / "raw").parts[:2] == (sha[:2], sha[2:4])


def test_a_large_blob_is_streamed_into_the_same_bytes_as_a_small_one_would_be(tmp_path: Path):
    # Compressed piece by piece (never held whole beside the message), yet the blob is exactly
    # what one-shot compression gives: the stored form stays a function of the content alone.
    store = RawStore(tmp_path / "raw", fsync=False)
    data = b"".join(b"Line %d of a large scanned quotation\r\n" % n for n in range(STREAM_FROM // 20))
    assert len(data) > STREAM_FROM
    sha, _ = store.put(data)
    assert store.get(sha) == data
    blob = store.path_for(sha).read_bytes()
    assert blob == store.encoder.encode(sha, data) == gzip.compress(data, store.compresslevel, mtime=0)


def test_second_put_of_same_bytes_writes_nothing(tmp_path: Path):
    store = RawStore(tmp_path / "raw", fsync=False)
    sha, _ = store.put(b"same")
    before = store.path_for(sha).stat().st_mtime_ns
    assert store.put(b"same") == (sha, False)
    assert store.path_for(sha).stat().st_mtime_ns == before
    assert not any((tmp_path / "raw" / "tmp").iterdir())  # no temporary files left behind


def test_corrupt_and_missing_blobs_are_reported(tmp_path: Path):
    store = RawStore(tmp_path / "raw", fsync=False)
    sha, _ = store.put(b"original")
    store.path_for(sha).write_bytes(gzip.compress(b"tampered"))
    with pytest.raises(RawStoreError, match="does not match its hash"):
        store.get(sha)
    with pytest.raises(RawStoreError, match="missing"):
        store.get("0" * 64)


def test_unwritable_store_raises_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RawStoreError, match="cannot write to the raw store"):
        RawStore(blocker / "raw").put(b"x")


def test_a_batch_is_stored_whole_with_repeats_written_once(tmp_path: Path):
    store = RawStore(tmp_path / "raw")
    datas = [b"Subject: one\r\n\r\n1", b"Subject: two\r\n\r\n2", b"Subject: one\r\n\r\n1"]
    results = store.put_many(datas)
    assert [new for _, new in results] == [True, True, False]
    assert results[0][0] == results[2][0]
    assert [store.get(sha) for sha, _ in results] == datas
    assert store.put_many(datas[:2]) == [(sha, False) for sha, _ in results[:2]]
    assert not any((tmp_path / "raw" / "tmp").iterdir())


def test_a_batch_that_fails_leaves_no_partial_blob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = RawStore(tmp_path / "raw")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    with pytest.raises(RawStoreError, match="No space left on device"):
        store.put_many([b"Subject: a\r\n\r\na", b"Subject: b\r\n\r\nb"])
    assert not any((tmp_path / "raw" / "tmp").iterdir())
    assert list(store.iter_hashes()) == []  # nothing half-written became a blob


def test_a_shared_store_removes_only_the_partial_files_of_dead_or_long_gone_writers(tmp_path: Path):
    import os
    import socket
    import subprocess
    import time

    store = RawStore(tmp_path / "raw")
    store.put(b"one message")  # makes raw/tmp
    tmp = tmp_path / "raw" / "tmp"
    host = socket.gethostname()
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid of this machine that has ended
    files = {
        "dead": tmp / f"{'a' * 16}.{host}.{dead.pid}.x1.part",
        "live": tmp / f"{'b' * 16}.{host}.{os.getpid()}.x2.part",
        "elsewhere": tmp / f"{'c' * 16}.node-b.example.4242.x3.part",
        "elsewhere-old": tmp / f"{'d' * 16}.node-b.example.4243.x4.part",
    }
    for path in files.values():
        path.write_bytes(b"partial")
    hour_ago = time.time() - 3700
    os.utime(files["elsewhere-old"], (hour_ago, hour_ago))
    assert store.remove_partial(older_than=3600) == 2
    assert sorted(p.name for p in store.temp_files()) == sorted(files[k].name for k in ("live", "elsewhere"))
    assert store.remove_partial() == 2  # the only writer removes every one
