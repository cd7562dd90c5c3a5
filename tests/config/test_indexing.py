"""The import's index writer, on every engine: each commit marks its messages indexed, a failure
loses nothing (index_pending picks the messages up), one writer at a time, and a rebuild that
fails or falls short leaves the live index answering. Converting an archive between engines."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from sqlalchemy import func, select

import config.pipeline as pipeline
import index.postgres_engine as postgres_engine
import index.tantivy_engine as tantivy_engine
import index.whoosh_engine as whoosh_engine
from config import Archive, import_paths, load_settings
from index import IndexLockedError, SearchIndex, SearchIndexError
from ingest import Message
from tests.conftest import ENGINES, Dossier, make_message

_ENGINE_CLASSES = {"tantivy": tantivy_engine.TantivyEngine, "whoosh": whoosh_engine.WhooshEngine,
                   "postgres": postgres_engine.PostgresEngine}


def _other(engine: str, backend: str) -> str:
    """The engine to convert to: on PostgreSQL between files and the database, else between the file engines."""
    if backend == "postgres":
        return "tantivy" if engine == "postgres" else "postgres"
    return "whoosh" if engine == "tantivy" else "tantivy"

pytestmark = pytest.mark.parametrize("engine", ENGINES)  # every test on every engine


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


def _hits(dossier: Dossier, query: str) -> list[dict]:
    """The hits as printed, without the score (each engine scores its own way)."""
    return [{k: v for k, v in hit.items() if k != "score"} for hit in dossier.json("search", query, "--limit", "100")]


def _broken_writer(monkeypatch, engine: str) -> None:
    def broken(self, **kwargs):
        raise SearchIndexError("disk on fire")

    # The Whoosh child writer is forked from this process, so it inherits the patch.
    monkeypatch.setattr(_ENGINE_CLASSES[engine], "open_writer", broken)


def test_each_commit_marks_its_messages_indexed(dossier: Dossier, tmp_path: Path, monkeypatch, engine: str):
    monkeypatch.setattr(whoosh_engine, "CHILD_COMMIT_EVERY", 7)
    monkeypatch.setattr(tantivy_engine, "COMMIT_EVERY", 7)
    monkeypatch.setattr(postgres_engine, "COMMIT_EVERY", 7)
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 5"))
    archive = Archive(load_settings(dossier.data_dir))
    marked: list[int] = []
    original = pipeline._Indexer._mark_indexed
    monkeypatch.setattr(pipeline._Indexer, "_mark_indexed", lambda self, ids: (marked.append(len(ids)),
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


def test_failing_writer_keeps_messages_for_index_pending(dossier: Dossier, tmp_path: Path, monkeypatch, engine: str):
    archive = Archive(load_settings(dossier.data_dir))
    with monkeypatch.context() as patch:
        _broken_writer(patch, engine)
        with pytest.raises(SearchIndexError, match="disk on fire"):
            import_paths(archive, [_mbox(tmp_path / "a.mbox", 12)])
    assert _counts(archive) == (12, 12)  # stored and saved, not indexed
    assert archive.index.doc_count() == 0

    report = import_paths(archive, [_mbox(tmp_path / "b.mbox", 3, start=100)])
    assert report.stored == 3
    assert _counts(archive) == (15, 0)  # the earlier twelve indexed at the start of this run
    assert len(dossier.json("search", "shipped", "--limit", "100")) == 15


def test_locked_index_is_reported_and_nothing_is_lost(dossier: Dossier, tmp_path: Path, engine: str):
    archive = Archive(load_settings(dossier.data_dir))
    if engine == "postgres":  # rows in a database: writers of other nodes write at the same time
        holder = archive.index.open_writer()
        try:
            assert import_paths(archive, [_mbox(tmp_path / "a.mbox", 5)]).stored == 5
        finally:
            holder.cancel()
        assert _counts(archive) == (5, 0) and archive.index.doc_count() == 5
        return
    holder = SearchIndex(archive.settings.index_path).open_writer()  # another writer holds the index
    try:
        with pytest.raises(IndexLockedError):
            import_paths(archive, [_mbox(tmp_path / "a.mbox", 5)])
    finally:
        holder.cancel()
    assert _counts(archive)[0] in (0, 5)  # index_pending at the start may fail first, before any batch
    import_paths(archive, [_mbox(tmp_path / "a.mbox", 0)])
    assert _counts(archive) == (5, 0)
    assert archive.index.doc_count() == 5


def test_reindex_whose_writer_fails_keeps_the_live_index(dossier: Dossier, tmp_path: Path, monkeypatch, engine: str):
    archive = Archive(load_settings(dossier.data_dir))
    import_paths(archive, [_mbox(tmp_path / "a.mbox", 6)])
    with monkeypatch.context() as patch:
        _broken_writer(patch, engine)
        with pytest.raises(SearchIndexError, match="disk on fire"):
            pipeline.reindex(archive)
    assert archive.index.doc_count() == 6
    assert len(dossier.json("search", "shipped", "--limit", "100")) == 6
    assert pipeline.reindex(archive) == 6  # the leftover of the failed rebuild is no obstacle


def test_converting_to_the_other_engine_keeps_every_message_and_search(dossier: Dossier, tmp_path: Path,
                                                                        engine: str, backend: str):
    other = _other(engine, backend)
    dossier.run("import", _mbox(tmp_path / "a.mbox", 8))
    before = _hits(dossier, "shipped")
    assert dossier.json("status")["engine"] == engine

    result = dossier.run("reindex", "--engine", other)
    assert result.stdout.strip() == f"Index rebuilt with {other}: 8 messages"
    assert dossier.json("status")["engine"] == other
    assert _hits(dossier, "shipped") == before  # the same hits, newest (then last added) first
    assert dossier.json("check")["clean"]
    dossier.run("import", _mbox(tmp_path / "b.mbox", 2, start=50))  # and it goes on indexing
    assert len(dossier.json("search", "shipped", "--limit", "100")) == 10
    assert sorted(p.name for p in dossier.data_dir.iterdir() if p.name.startswith("index")) == ["index"]


def test_a_conversion_that_cannot_read_every_message_keeps_the_old_index(dossier: Dossier, tmp_path: Path,
                                                                        engine: str, backend: str):
    other = _other(engine, backend)
    dossier.run("import", _mbox(tmp_path / "a.mbox", 5))
    archive = Archive(load_settings(dossier.data_dir))
    with archive.sessions() as session:
        lost = session.scalars(select(Message.sha256).order_by(Message.id)).first()
    archive.raw.path_for(lost).unlink()  # one raw file gone: the new index would lack its message

    result = dossier.run("reindex", "--engine", other, expect=1)
    assert "holds 4 of the 5 stored messages" in result.output and "keeps its current index" in result.output
    assert dossier.json("status")["engine"] == engine
    assert len(dossier.json("search", "shipped", "--limit", "100")) == 5
