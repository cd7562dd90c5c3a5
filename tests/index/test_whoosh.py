"""The Whoosh engine's own parts: its writer writes exactly what Whoosh's would, its patches stand
down under another Whoosh, Dossier's snippets equal Whoosh's highlighter, and its child writer."""

from __future__ import annotations

import mailbox
import random
from datetime import datetime
from pathlib import Path

import pytest
from whoosh import highlight
from whoosh.filedb.filestore import FileStorage

import config.pipeline as pipeline
import index.whoosh_engine as whoosh_engine
import index.whoosh_worker as whoosh_worker
from config import Archive, import_paths, load_settings
from index import SearchIndex, build_document
from index.snippets import SNIPPET_CHARS
from index.snippets import highlight as dossier_highlight
from index.whoosh_analysis import text_analyzer
from index.whoosh_engine import INDEX_NAME, whoosh_fields
from index.whoosh_patches import Or, patches_apply
from ingest import parse_message, read_message
from tests.conftest import Dossier, make_message

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
    ours = SearchIndex(tmp_path / "ours", engine="whoosh")
    with ours.writer() as writer:
        for doc in _documents():
            writer.add_new(doc)

    stock = SearchIndex(tmp_path / "stock", engine="whoosh")
    stock.create()
    raw = FileStorage(str(stock.path)).open_index(INDEX_NAME).writer()
    for doc in _documents():
        raw.add_document(**whoosh_fields(doc))
    raw.commit()

    mine, theirs = _segment_files(ours.path), _segment_files(stock.path)
    assert set(mine) == {"pst", "trm"}
    assert mine == theirs


def test_patches_stand_down_under_another_whoosh(tmp_path: Path, monkeypatch) -> None:
    assert patches_apply()  # the pinned version
    assert not patches_apply((2, 7, 6))
    index = SearchIndex(tmp_path / "ix", engine="whoosh")
    with index.writer() as writer:
        for doc in _documents():
            writer.add_new(doc)
    ix = index.engine.ix
    with ix.searcher() as searcher:
        query = Or([whoosh_engine.Term("body", "brass"), whoosh_engine.Term("subject", "报价")])
        patched = sorted((h["id"], round(h.score, 6)) for h in searcher.search(query))
        monkeypatch.setattr("index.whoosh_patches.patches_apply", lambda version=None: False)
        stock = sorted((h["id"], round(h.score, 6)) for h in searcher.search(query))
    assert patched == stock and len(patched) == 2


def test_an_index_made_before_engines_were_recorded_is_whoosh(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "ix", engine="whoosh")
    with index.writer() as writer:
        for doc in _documents():
            writer.add_new(doc)
    (index.path / "dossier-index.json").unlink()  # as every index before this version
    legacy = SearchIndex(index.path, engine="tantivy")  # whatever the config says for new ones
    assert legacy.engine_name == "whoosh" and legacy.doc_count() == 4


# --- Dossier's snippets against Whoosh's highlighter -----------------------------------------

_WORDS = ["valve", "valves", "brass", "USD", "12,500", "FOB", "Ningbo", "报价单", "報價", "单价", "型號",
          "price", "the", "a", "Straße", "ＡＢＣ", "\n", "\n\n", "—", "of", "报", "价", "quotation", "Q-7"]


def _random_text(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(1, 400))).replace(" \n ", "\n")


def _whoosh_snippet(text: str, words: frozenset[str]) -> str:
    # What the Whoosh engine's hits gave before snippets were Dossier's own: the highlighter of
    # a result set (ContextFragmenter, top 3, minscore 1) with Dossier's formatter.
    from whoosh.searching import Hit, Results  # noqa: F401  (the highlighter's own module)

    class Formatter(highlight.Formatter):
        between = " … "

        def format_fragment(self, fragment, replace=False):
            spans: list[list[int]] = []
            for t in sorted(fragment.matches, key=lambda t: (t.startchar, t.endchar)):
                if spans and t.startchar <= spans[-1][1]:
                    spans[-1][1] = max(spans[-1][1], t.endchar)
                else:
                    spans.append([t.startchar, t.endchar])
            out, pos = [], fragment.startchar
            for start, end in spans:
                start = max(start, pos)
                if start < end:
                    out += [fragment.text[pos:start], "**" + fragment.text[start:end] + "**"]
                    pos = end
            out.append(fragment.text[pos:fragment.endchar])
            return " ".join("".join(out).split())

    analyzer = text_analyzer()
    tokens = analyzer(text, positions=True, chars=True, mode="index", removestops=False)
    tokens = highlight.Highlighter._merge_matched_tokens(highlight.set_matched_filter(tokens, words))
    fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=80)
    fragments = highlight.top_fragments(fragmenter.fragment_tokens(text, tokens), 3,
                                        highlight.BasicFragmentScorer(), highlight.FIRST, minscore=1)
    return Formatter().format(fragments)


@pytest.mark.parametrize("seed", range(300))
def test_snippets_are_what_whooshs_highlighter_made(seed: int) -> None:
    rng = random.Random(seed)
    text = _random_text(rng)
    words = frozenset(rng.sample(["valve", "brass", "usd", "报价", "价单", "报", "价", "strasse", "abc", "the",
                                  "12", "500", "fob", "q", "7"], rng.randrange(1, 4)))
    assert dossier_highlight(text, words) == _whoosh_snippet(text, words)


# --- the child writer ---------------------------------------------------------------------------


def _mbox(path: Path, count: int) -> Path:
    box = mailbox.mbox(str(path))
    for i in range(count):
        box.add(make_message(subject=f"Order {i} shipped", message_id=f"<o{i}@example.org>", body=f"Order {i}."))
    box.flush()
    box.close()
    return path


@pytest.mark.parametrize("engine", ["whoosh"])
def test_in_process_writer_gives_the_same_index(dossier: Dossier, tmp_path: Path, monkeypatch, engine: str):
    monkeypatch.setattr(whoosh_engine, "USE_CHILD_WRITER", False)
    archive = Archive(load_settings(dossier.data_dir))
    import_paths(archive, [_mbox(tmp_path / "a.mbox", 10)])
    assert archive.index.doc_count() == 10
    assert pipeline.reindex(archive) == 10
    assert len(dossier.json("search", "shipped", "--limit", "100")) == 10


@pytest.mark.parametrize("engine", ["whoosh"])
def test_reindex_writes_in_a_child_one_segment_with_every_message(dossier: Dossier, tmp_path: Path,
                                                                  monkeypatch, engine: str):
    monkeypatch.setattr(whoosh_worker, "FILL_BATCH", 4)  # several batches through the queue
    archive = Archive(load_settings(dossier.data_dir))
    import_paths(archive, [_mbox(tmp_path / "a.mbox", 15)])

    assert pipeline.reindex(archive) == 15
    with archive.index.engine.ix.reader() as reader:  # one commit: the nightly state searches fastest
        assert len(list(reader.leaf_readers())) == 1
    assert len(dossier.json("search", "shipped", "--limit", "100")) == 15
