"""The index directory on every engine: the marker names the engine, rebuilds swap a fresh
directory in (never the live one wiped first), a reader racing the swap does not break it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from index import SearchIndex, SearchIndexError, SearchRequest, build_document, search
from ingest import parse_message, read_message
from tests.conftest import ENGINES, make_message

pytestmark = pytest.mark.parametrize("engine", ENGINES)


def _documents(count: int = 4, word: str = "valves"):
    for number in range(count):
        parsed = parse_message(make_message(message_id=f"<m{number}@x>", subject=f"Order {number}",
                                            body=f"Brass {word} number {number}."))
        yield build_document(f"doc{number}", parsed, read_message(parsed), date=datetime(2025, 1, 1 + number),
                             folders=("INBOX",))


def _filled(path: Path, engine: str, database, count: int = 4) -> SearchIndex:
    index = SearchIndex(path, engine=engine, database=database)
    with index.writer() as writer:
        for doc in _documents(count):
            writer.add_new(doc)
    return index


def test_the_marker_names_the_engine_and_wins_over_the_config(tmp_path: Path, engine: str, engine_database) -> None:
    index = _filled(tmp_path / "ix", engine, engine_database)
    assert json.loads((index.path / "dossier-index.json").read_text())["engine"] == engine
    other = "whoosh" if engine == "tantivy" else "tantivy"
    reopened = SearchIndex(index.path, engine=other, database=engine_database)
    assert reopened.engine_name == engine and reopened.doc_count() == 4
    assert {h.id for h in search(reopened, SearchRequest(text="valves")).hits} == {f"doc{n}" for n in range(4)}


def test_an_index_of_a_newer_schema_is_refused_with_the_fix(tmp_path: Path, engine: str, engine_database) -> None:
    index = _filled(tmp_path / "ix", engine, engine_database)
    marker = index.path / "dossier-index.json"
    marker.write_text(json.dumps({"engine": engine, "schema": 99}))
    with pytest.raises(SearchIndexError, match="built by a newer Dossier.*run `dossier reindex`"):
        search(SearchIndex(index.path, database=engine_database), SearchRequest(text="valves"))
    marker.write_text("{not json")
    with pytest.raises(SearchIndexError, match="unreadable dossier-index.json"):
        SearchIndex(index.path, database=engine_database).doc_count()


def test_a_rebuild_converts_and_the_live_index_answers_until_the_swap(tmp_path: Path, engine: str,
                                                                      engine_database) -> None:
    index = _filled(tmp_path / "ix", engine, engine_database)
    other = "whoosh" if engine == "tantivy" else "tantivy"
    seen_during: list[int] = []

    def docs():
        for doc in _documents(6, word="pumps"):
            seen_during.append(len(search(index, SearchRequest(text="valves")).hits))
            yield doc

    assert index.rebuild(docs(), engine=other) == 6
    assert seen_during == [4] * 6  # the old index answered throughout
    assert index.engine_name == other
    assert len(search(index, SearchRequest(text="pumps")).hits) == 6
    assert not search(index, SearchRequest(text="valves")).hits


def test_a_rebuild_that_fails_verification_leaves_the_live_index(tmp_path: Path, engine: str, engine_database) -> None:
    index = _filled(tmp_path / "ix", engine, engine_database)

    def refuse(count: int) -> None:
        raise SearchIndexError(f"only {count}")

    with pytest.raises(SearchIndexError, match="only 2"):
        index.rebuild(_documents(2), verify=refuse)
    assert index.doc_count() == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


def test_a_reader_opening_the_index_mid_swap_does_not_break_a_rebuild(tmp_path: Path, engine: str, engine_database,
                                                                      monkeypatch) -> None:
    index = _filled(tmp_path / "ix", engine, engine_database)
    rename = Path.rename
    raced: list[Path] = []

    def rename_then_open(self: Path, target):
        moved = rename(self, target)
        if Path(target).name.endswith(".old") and not raced:
            raced.append(Path(target))
            # a reader between the two renames: it puts the old index back
            SearchIndex(index.path, database=engine_database)
        return moved

    monkeypatch.setattr(Path, "rename", rename_then_open)
    assert index.rebuild(list(_documents())[:2]) == 2
    assert raced and index.doc_count() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


def test_result_pages_by_offset(tmp_path: Path, engine: str, engine_database) -> None:
    index = _filled(tmp_path / "ix", engine, engine_database, count=7)
    everything = [h.id for h in search(index, SearchRequest(text="valves", limit=50)).hits]
    assert everything == [f"doc{n}" for n in range(6, -1, -1)]  # newest first
    pages = [search(index, SearchRequest(text="valves", limit=3, offset=o)) for o in (0, 3, 6)]
    assert [h.id for page in pages for h in page.hits] == everything
    assert {page.total for page in pages} == {7}
