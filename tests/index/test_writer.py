"""Dossier's index writer writes exactly the segment Whoosh's own writer would."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from whoosh.filedb.filestore import FileStorage

from index import SearchIndex, build_document
from index.store import INDEX_NAME, _fields
from ingest import parse_message, read_message
from tests.conftest import make_message

MESSAGES = [
    dict(subject="Quotation Q-7", body="Please find our offer: brass valves USD 12,500 FOB Ningbo.\n" * 3),
    dict(subject="報價單", body="您好，附件是報價單，請查收。型號ZY9，单价88美元。"),
    dict(subject="Re: Quotation Q-7", body="Agreed.\n\nOn Monday, Anna wrote:\n> brass valves USD 12,500"),
    dict(subject="Empty body", body=""),  # zero-length fields: Whoosh stores no length for them
]


def _documents():
    for number, fields in enumerate(MESSAGES):
        parsed = parse_message(make_message(message_id=f"<m{number}@x>", **fields))
        yield build_document(f"doc{number}", parsed, read_message(parsed), date=datetime(2025, 1, 1 + number),
                             folders=("INBOX",))


def _segment_files(path: Path) -> dict[str, bytes]:
    """The postings and term files of the index's single segment, by extension."""
    storage = FileStorage(str(path))
    (segment,) = storage.open_index(INDEX_NAME)._segments()
    compound = segment.open_compound_file(storage)
    return {
        name.rsplit(".", 1)[1]: compound.open_file(name).read()
        for name in compound.list()
        if name.endswith((".pst", ".trm"))
    }


def test_postings_and_terms_are_byte_identical_to_whooshs_writer(tmp_path: Path) -> None:
    ours = SearchIndex(tmp_path / "ours")
    with ours.writer() as writer:
        for doc in _documents():
            writer.add_new(doc)

    stock = SearchIndex(tmp_path / "stock")
    stock.create()
    raw = FileStorage(str(stock.path)).open_index(INDEX_NAME).writer()
    for doc in _documents():
        raw.add_document(**_fields(doc))
    raw.commit()

    mine, theirs = _segment_files(ours.path), _segment_files(stock.path)
    assert set(mine) == {"pst", "trm"}
    assert mine == theirs


def test_a_reader_opening_the_index_mid_swap_does_not_break_a_rebuild(tmp_path: Path, monkeypatch) -> None:
    index = SearchIndex(tmp_path / "ix")
    with index.writer() as writer:
        for doc in _documents():
            writer.add_new(doc)
    rename = Path.rename
    raced: list[Path] = []

    def rename_then_open(self: Path, target):
        moved = rename(self, target)
        if Path(target).name.endswith(".old") and not raced:
            raced.append(Path(target))
            SearchIndex(index.path)  # a reader between the two renames: it puts the old index back
        return moved

    monkeypatch.setattr(Path, "rename", rename_then_open)
    fresh = list(_documents())[:2]
    assert index.rebuild(fresh) == 2
    assert raced and index.doc_count() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]
