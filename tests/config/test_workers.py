"""The import's index writer in a child process: every commit it reports marks messages indexed,
its failure loses nothing (index_pending picks the messages up), and it never outlives the import."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from sqlalchemy import func, select

import config.pipeline as pipeline
from config import Archive, import_paths, load_settings
from index import IndexLockedError, SearchIndex, SearchIndexError
from ingest import Message
from tests.conftest import Dossier, make_message


def _mbox(path: Path, count: int, *, start: int = 0) -> Path:
    box = mailbox.mbox(str(path))
    for i in range(start, start + count):
        box.add(make_message(subject=f"Order {i} shipped", message_id=f"<o{i}@example.org>", body=f"Order {i}."))
    box.flush()
    box.close()
    return path


def _counts(archive: Archive) -> tuple[int, int]:
    with archive.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Message))
        pending = session.scalar(select(func.count()).select_from(Message).where(Message.indexed_at.is_(None)))
    return total, pending


def test_child_commits_every_n_and_marks_each_commit_indexed(dossier: Dossier, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(pipeline, "INDEX_PROCESS_COMMIT_EVERY", 7)
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 5"))
    archive = Archive(load_settings(dossier.data_dir))
    marked: list[int] = []
    original = pipeline._ChildIndexer._mark_indexed
    monkeypatch.setattr(pipeline._ChildIndexer, "_mark_indexed", lambda self, ids: (marked.append(len(ids)),
                                                                                      original(self, ids)))
    report = import_paths(archive, [_mbox(tmp_path / "a.mbox", 30)])
    assert report.stored == 30
    assert marked == [10, 10, 10]  # a commit once 7 are queued: after every second batch of 5
    assert _counts(archive) == (30, 0)
    assert archive.index.doc_count() == 30
    assert len(dossier.json("search", "shipped", "--limit", "100")) == 30

    again = import_paths(archive, [_mbox(tmp_path / "a.mbox", 0)])  # same file: nothing new
    assert again.stored == 0 and again.duplicates == 30
    assert archive.index.doc_count() == 30


def test_failing_child_keeps_messages_for_index_pending(dossier: Dossier, tmp_path: Path, monkeypatch):
    archive = Archive(load_settings(dossier.data_dir))

    def broken(self, *, limitmb: int = 128):
        raise OSError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(SearchIndex, "open_writer", broken)  # the forked child inherits it
        with pytest.raises(SearchIndexError, match="disk on fire"):
            import_paths(archive, [_mbox(tmp_path / "a.mbox", 12)])
    assert _counts(archive) == (12, 12)  # stored and saved, not indexed
    assert archive.index.doc_count() == 0

    report = import_paths(archive, [_mbox(tmp_path / "b.mbox", 3, start=100)])
    assert report.stored == 3
    assert _counts(archive) == (15, 0)  # the earlier twelve indexed at the start of this run
    assert len(dossier.json("search", "shipped", "--limit", "100")) == 15


def test_locked_index_is_reported_and_nothing_is_lost(dossier: Dossier, tmp_path: Path):
    archive = Archive(load_settings(dossier.data_dir))
    holder = SearchIndex(archive.settings.index_path).open_writer()  # another process's writer
    try:
        with pytest.raises(IndexLockedError):
            import_paths(archive, [_mbox(tmp_path / "a.mbox", 5)])
    finally:
        holder.cancel()
    assert _counts(archive)[0] in (0, 5)  # index_pending at the start may fail first, before any batch
    import_paths(archive, [_mbox(tmp_path / "a.mbox", 0)])
    assert _counts(archive) == (5, 0)
    assert archive.index.doc_count() == 5


def test_in_process_indexer_gives_the_same_index(dossier: Dossier, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(pipeline, "USE_INDEX_PROCESS", False)
    archive = Archive(load_settings(dossier.data_dir))
    import_paths(archive, [_mbox(tmp_path / "a.mbox", 10)])
    assert _counts(archive) == (10, 0) and archive.index.doc_count() == 10


def test_reindex_writes_in_a_child_one_segment_with_every_message(dossier: Dossier, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(pipeline, "REINDEX_BATCH", 4)  # several batches through the queue
    archive = Archive(load_settings(dossier.data_dir))
    import_paths(archive, [_mbox(tmp_path / "a.mbox", 15)])

    assert pipeline.reindex(archive) == 15
    with archive.index.whoosh.reader() as reader:  # one commit: the nightly state searches fastest
        assert len(list(reader.leaf_readers())) == 1
    assert _counts(archive) == (15, 0)
    assert len(dossier.json("search", "shipped", "--limit", "100")) == 15


def test_reindex_whose_writer_fails_keeps_the_live_index(dossier: Dossier, tmp_path: Path, monkeypatch):
    archive = Archive(load_settings(dossier.data_dir))
    import_paths(archive, [_mbox(tmp_path / "a.mbox", 6)])

    def broken(self, *, limitmb: int = 128):
        raise OSError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(SearchIndex, "open_writer", broken)  # the forked child inherits it
        with pytest.raises(SearchIndexError, match="disk on fire"):
            pipeline.reindex(archive)
    assert archive.index.doc_count() == 6
    assert len(dossier.json("search", "shipped", "--limit", "100")) == 6
    assert pipeline.reindex(archive) == 6  # the leftover of the failed rebuild is no obstacle
