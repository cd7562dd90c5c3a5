"""tantivy's known traps, each with a test: segment files no commit names are collected after
commits and merges; a SIGKILL during a commit or a merge leaves an index that opens with every
commit before it; one writer at a time, and readers see each commit at once; the writer's memory
stays within its budget however much is written before a commit."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

import index.tantivy_engine as tantivy_engine
from index import Document, IndexLockedError, SearchIndex, SearchIndexError, SearchRequest, search

ROOT = Path(__file__).resolve().parents[2]


def _doc(number: int, words: int = 30, vocabulary: int = 5000) -> Document:
    rng = random.Random(number)
    body = " ".join(f"w{rng.randrange(vocabulary)}" for _ in range(words)) + f" marker{number % 7} 报价单"
    return Document(id=f"doc{number}", date=datetime(2025, 1, 1 + number % 28), subject=f"Order {number}",
                    body=body, sender="a@example.org", recipients="b@example.org",
                    from_addresses=("a@example.org",), addresses=("a@example.org", "b@example.org"),
                    domains=("example.org",), attachments=(), customers=(1,), folders=("INBOX",),
                    accounts=("anna",))


def _stray_files(path: Path) -> list[str]:
    """Files of segments that meta.json does not name."""
    meta = json.loads((path / "meta.json").read_text())
    segments = {s["segment_id"].replace("-", "") for s in meta["segments"]}
    files = [f for f in os.listdir(path) if not f.startswith(".") and f not in ("meta.json", "dossier-index.json")]
    return [f for f in files if f.split(".")[0] not in segments]


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir())


def test_segments_replaced_by_commits_and_merges_are_collected(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "ix", engine="tantivy")
    with index.writer() as writer:
        for n in range(400):
            writer.add_new(_doc(n))
    fresh = _size(index.path)
    for round_ in range(40):  # every document replaced ten times, 40 commits: merges run between them
        with index.writer() as writer:
            for n in range(round_ % 4 * 100, round_ % 4 * 100 + 100):
                writer.put(_doc(n))
    assert index.doc_count() == 400
    assert _stray_files(index.path) == []
    assert _size(index.path) < 3 * fresh  # (an index that keeps its old segments grows 10x here)


_KILLED_WRITER = """
import sys
from index import SearchIndex
from tests.index.test_tantivy import _doc
index = SearchIndex(sys.argv[1], engine="tantivy")
n = index.doc_count()
while True:
    with index.writer() as writer:
        for i in range(n, n + 40):
            writer.put(_doc(i))
    n += 40
    print(n, flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_commits_and_merges_leaves_an_index_that_opens(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    SearchIndex(path, engine="tantivy").create()
    rng = random.Random(20260115)
    committed = 0
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.6, 1.8))  # start-up, then commits of 40 (and merges) back to back
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        reported = [int(line) for line in out.split()]
        index = SearchIndex(path)
        count = index.doc_count()
        # Every commit the writer reported survived; at most the one under way may have too.
        assert count % 40 == 0 and max(reported, default=committed) <= count <= max(reported, default=count) + 40
        assert search(index, SearchRequest(text="报价单", limit=1)).total == count
        committed = count
    assert committed >= 200, committed  # the kills let real work happen in between
    with SearchIndex(path).writer():  # a writer collects what the killed ones left
        pass
    assert _stray_files(path) == []


def test_one_writer_at_a_time_and_readers_see_each_commit(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    reader = SearchIndex(path, engine="tantivy")
    reader.create()
    assert reader.doc_count() == 0
    writer = SearchIndex(path).open_writer()
    try:
        with pytest.raises(IndexLockedError, match="being written by another dossier process"):
            SearchIndex(path).open_writer()
        other = subprocess.run(
            [sys.executable, "-c", "import sys\nfrom index import SearchIndex, IndexLockedError\n"
             "try:\n    SearchIndex(sys.argv[1]).open_writer()\nexcept IndexLockedError:\n    print('locked')",
             str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert other.stdout.strip() == "locked", other.stderr
        for n in range(5):
            writer.add_new(_doc(n))
        assert reader.doc_count() == 0  # not committed: not there
    finally:
        writer.commit()
    assert reader.doc_count() == 5  # the reader opened before the commit sees it
    assert search(reader, SearchRequest(text="marker3")).total == 1
    with SearchIndex(path).writer() as again:  # the lock was released by the commit
        again.delete("doc3")
    assert search(reader, SearchRequest(text="marker3")).total == 0


_BIG_WRITE = """
import os, resource, sys, time
import index.tantivy_engine as tantivy_engine
tantivy_engine.WRITER_HEAP = int(sys.argv[3]) * 1_000_000
from index import SearchIndex
from tests.index.test_tantivy import _doc
path = sys.argv[1]
index = SearchIndex(path, engine="tantivy")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with index.writer() as writer:  # one commit for it all: only the heap budget bounds what is held
    for n in range(int(sys.argv[2])):
        writer.add_new(_doc(n, words=2000, vocabulary=10**9))
    time.sleep(0.3)
    flushed = len([f for f in os.listdir(path) if f.endswith(".idx")])
print(flushed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, index.doc_count())
"""


def _write_big(path: Path, count: int, heap_mb: int) -> tuple[int, float]:
    done = subprocess.run([sys.executable, "-c", _BIG_WRITE, str(path), str(count), str(heap_mb)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    flushed, grown_kb, docs = (int(x) for x in done.stdout.split())
    assert docs == count
    return flushed, grown_kb / 1024


@pytest.mark.slow
def test_the_writer_memory_stays_within_its_budget(tmp_path: Path) -> None:
    # 300 documents of 2,000 distinct words (600,000 terms): more than a 16 MB heap holds, so
    # the writer writes segments to disk before the commit instead of growing; with the default
    # budget it holds more at once, and flushes less often.
    flushed_small, grown_small = _write_big(tmp_path / "small", 300, 16)
    flushed_default, _ = _write_big(tmp_path / "default", 300, tantivy_engine.WRITER_HEAP // 1_000_000)
    assert flushed_small >= 4 and flushed_default < flushed_small, (flushed_small, flushed_default)
    assert grown_small < 16 + 100, grown_small  # the heap, and Python's own documents and tokens


def test_a_segment_damaged_inside_is_one_error_with_the_fix(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "ix", engine="tantivy")
    with index.writer() as writer:
        for n in range(300):
            writer.add_new(_doc(n, words=200))
    for store in index.path.glob("*.store"):  # the footer intact, compressed blocks broken
        data = bytearray(store.read_bytes())
        data[len(data) // 3:len(data) // 3 + 2048] = random.Random(1).randbytes(2048)
        store.write_bytes(bytes(data))
    damaged = SearchIndex(index.path)
    with pytest.raises(SearchIndexError, match="cannot be read.*run `dossier reindex`"):
        list(damaged.stored_documents())
    with pytest.raises(SearchIndexError, match="run `dossier reindex`"):
        search(damaged, SearchRequest(text="报价单", limit=300))
