"""The postgres engine's own parts: long fields in chunks (phrases across a seam found), a document
larger than a row holds (its head searchable, the cut counted), RUM and plain GIN finding and
ordering alike, a read replica's URL used for searching, and an archive on SQLite refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import index.postgres_engine as postgres_engine
from index import IndexDatabase, SearchIndex, SearchIndexError, SearchRequest, build_document, search
from ingest import parse_message, read_message
from tests.conftest import Databases, make_message

pytestmark = pytest.mark.postgres


@pytest.fixture
def database(postgres: Databases) -> Iterator[IndexDatabase]:
    with postgres.new(template=None) as url:
        yield IndexDatabase(url)


def _doc(key: str, body: str, day: int = 1, subject: str = "Report"):
    parsed = parse_message(make_message(message_id=f"<{key}@x>", subject=subject, body=body))
    return build_document(key, parsed, read_message(parsed), date=datetime(2025, 1, day))


def _ids(index: SearchIndex, query: str, **kw) -> list[str]:
    return [h.id for h in search(index, SearchRequest(text=query, limit=50, **kw)).hits]


def _word(n: int) -> str:
    """A distinct word of letters only (the analyzer splits letters from digits)."""
    letters = ""
    while True:
        n, rest = divmod(n, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[rest]
        if not n:
            return "q" + letters


@pytest.mark.parametrize("repeat", [False, True], ids=["distinct-words", "one-word-in-every-other-place"])
def test_phrases_are_found_in_every_chunk_and_across_each_seam(tmp_path: Path, database: IndexDatabase,
                                                               repeat: bool):
    # Seams every CHUNK positions, or (a word at every other position, as "USD" in a price list)
    # wherever that word would get its 257th position in a chunk.
    chunk = postgres_engine.CHUNK
    words = [_word(n) for n in range(chunk * 3 + 10)]
    if repeat:
        words = [w for n, word in enumerate(words[: chunk * 3 // 2]) for w in ("usd", word)]
    index = SearchIndex(tmp_path / "index", engine="postgres", database=database)
    with index.writer() as writer:
        writer.put(_doc("long", " ".join(words)))
        writer.put(_doc("short", f"{words[5]} {words[6]} and nothing else"))
    seams = [chunk * k + d for k in range(4) for d in (-2, -1, 0, 1)] + [510, 511, 512, 1022, 1535]
    for start in (s for s in seams if 0 <= s < len(words) - 3):
        phrase = " ".join(words[start:start + 3])
        assert _ids(index, f'"{phrase}"') == ["long"], phrase
    assert index.open()._meta_values()["chunks:b"] >= 3
    tail = words[-3:]  # order matters, in every chunk
    assert _ids(index, '"' + " ".join(tail[::-1]) + '"') == [] and _ids(index, '"' + " ".join(tail) + '"') == ["long"]
    assert _ids(index, f"{words[5]} {words[6]}") == ["short", "long"]


def test_a_document_too_large_for_one_row_keeps_its_head_and_is_counted(tmp_path: Path, database: IndexDatabase,
                                                                        monkeypatch):
    monkeypatch.setattr(postgres_engine, "TSVECTOR_BUDGET", 20_000)
    body = " ".join(f"term{n}" for n in range(5000))
    index = SearchIndex(tmp_path / "index", engine="postgres", database=database)
    with index.writer() as writer:
        writer.put(_doc("huge", body, subject="Quarterly figures"))
        writer.put(_doc("small", "term4999 in a short mail"))
    engine = index.open()
    assert engine.truncated() == 1
    assert _ids(index, "quarterly") == ["huge"]  # the subject comes first, kept whole
    assert _ids(index, "term3") == ["huge"]
    assert _ids(index, "term4999") == ["small"]  # the huge one's tail is not searchable


@pytest.mark.parametrize("kind", ["rum", "gin"])
def test_rum_and_gin_find_and_order_alike(tmp_path: Path, database: IndexDatabase, monkeypatch, kind: str):
    if kind == "gin":  # as on a server without the RUM extension
        real = postgres_engine.PostgresEngine._create_text_index

        def without_rum(self):
            with self._writes().begin() as connection:
                connection.execute(sa.text(f"CREATE INDEX {self.table}_tsv ON {self.table} USING gin (tsv)"))
                self._set_meta(connection, "rum", 0)
            return "gin"

        monkeypatch.setattr(postgres_engine.PostgresEngine, "_create_text_index", without_rum)
        assert real is not without_rum
    index = SearchIndex(tmp_path / "index", engine="postgres", database=database)
    with index.writer() as writer:
        for n in range(60):  # the same second for some: the later added first
            writer.put(_doc(f"d{n:02}", f"common word {n} " + ("rare" if n % 20 == 0 else ""), day=1 + n // 3))
    engine = index.open()
    assert engine._meta_values()["rum"] == (1 if kind == "rum" else 0)
    newest = [f"d{n:02}" for n in range(59, -1, -1)]
    assert _ids(index, "common") == newest[:50]
    pages = [search(index, SearchRequest(text="common", limit=7, offset=o)) for o in range(0, 60, 7)]
    assert [h.id for page in pages for h in page.hits] == newest and {p.total for p in pages} == {60}
    assert _ids(index, "rare") == ["d40", "d20", "d00"]
    with engine._reads().connect() as connection:
        plan = "\n".join(connection.execute(sa.text(
            f"EXPLAIN SELECT id FROM search_documents WHERE tsv @@ CAST(:q AS tsquery) ORDER BY newest "
            f"{'<=| 9007199254740992::bigint' if kind == 'rum' else 'DESC'} LIMIT 5"), {"q": "'b:common'"}).scalars())
    assert ("search_documents_tsv" in plan) == (kind == "rum") or kind == "gin"


def test_searches_go_to_the_read_replica_url(tmp_path: Path, database: IndexDatabase, postgres: Databases):
    writer_index = SearchIndex(tmp_path / "index", engine="postgres", database=database)
    with writer_index.writer() as writer:
        writer.put(_doc("one", "valves from the primary"))
    # A "replica" that holds other rows: what searching reads proves where it reads.
    with postgres.new(template=None) as replica_url:
        replica = SearchIndex(tmp_path / "replica-index", engine="postgres", database=IndexDatabase(replica_url))
        with replica.writer() as writer:
            writer.put(_doc("two", "valves from the replica"))
        both = SearchIndex(tmp_path / "index", database=IndexDatabase(database.url, read_url=replica_url))
        assert _ids(both, "valves") == ["two"]
        assert both.doc_count() == 1 and [d for d, _ in both.stored_documents()] == ["one"]  # counts: the primary
        for ix in (replica, both):
            ix.engine.close()
    writer_index.engine.close()


def test_the_postgres_engine_needs_a_postgresql_archive(tmp_path: Path):
    index = SearchIndex(tmp_path / "index", engine="postgres",
                        database=IndexDatabase(f"sqlite:///{tmp_path / 'dossier.db'}"))
    with pytest.raises(SearchIndexError, match="not PostgreSQL; choose \"tantivy\" or \"whoosh\""):
        index.create()


def test_newest_first_keys_stay_exact_for_rum(tmp_path: Path):
    # RUM measures order distances as doubles: every key must stay below 2**53.
    late = postgres_engine._newest(datetime(2240, 1, 1), (1 << postgres_engine._SEQ_BITS) - 1)
    early = postgres_engine._newest(datetime(1970, 1, 1) + timedelta(seconds=1), 0)
    assert early < late < postgres_engine._NEWEST_CEILING
