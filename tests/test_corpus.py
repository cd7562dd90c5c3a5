"""Imports the whole shared corpus (when ../shared/corpus exists) and checks nothing is lost."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from config import Archive, import_paths, init_data_dir, load_settings
from index import SearchRequest, search
from ingest import Message, ParseError, extract_attachments, hash_bytes, iter_source, parse_message, read_message
from ingest.reading import html_adds
from tests.conftest import SHARED_CORPUS

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="../shared/corpus is not present"),
]

_CJK = re.compile(r"[\u4e00-\u9fff]{2,}")
_WORD = re.compile(r"[A-Za-z]{5,}")


@pytest.fixture(scope="module")
def corpus_archive(tmp_path_factory) -> tuple[Archive, object]:
    data_dir = tmp_path_factory.mktemp("corpus") / "data"
    init_data_dir(data_dir)
    config = data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("fsync = true", "fsync = false"))
    archive = Archive(load_settings(data_dir))
    paths = sorted(p for p in SHARED_CORPUS.iterdir() if p.is_dir())
    report = import_paths(archive, paths, account="corpus")
    yield archive, report
    archive.close()


def test_every_corpus_message_is_stored_and_counted(corpus_archive):
    archive, report = corpus_archive
    expected = sum(1 for p in SHARED_CORPUS.iterdir() if p.is_dir() for _ in iter_source(p))
    assert report.seen == expected
    assert report.stored + report.duplicates + report.failed == report.seen
    assert report.unreadable == []
    assert report.failed < report.seen * 0.01
    # every distinct input is in the database once, and its raw blob holds the exact bytes
    distinct = {hash_bytes(it.data) for p in SHARED_CORPUS.iterdir() if p.is_dir() for it in iter_source(p)}
    with archive.sessions() as session:
        stored = set(session.scalars(select(Message.sha256)))
    assert stored == distinct
    assert all(archive.raw.contains(sha) for sha in stored)


def test_a_sample_of_decoded_subjects_is_searchable(corpus_archive):
    archive, _ = corpus_archive
    rng = random.Random(20261123)
    items = [it for p in sorted(SHARED_CORPUS.iterdir()) if p.is_dir() for it in iter_source(p)]
    checked = 0
    missed = []
    for item in rng.sample(items, 600):
        try:
            parsed = parse_message(item.data)
        except ParseError:
            continue
        terms = _CJK.findall(parsed.subject) or _WORD.findall(parsed.subject)
        if not terms:
            continue
        term = rng.choice(terms)
        if _CJK.fullmatch(term) and len(term) > 4:
            start = rng.randrange(len(term) - 1)
            term = term[start:start + rng.randint(2, 4)]
        result = search(archive.index, SearchRequest(text=f'subject:"{term}"', limit=100000))
        checked += 1
        if hash_bytes(item.data) not in {h.id for h in result.hits}:
            missed.append((item.origin, term, parsed.subject))
    assert checked > 300
    assert missed == []


def _word(text: str, rng: random.Random) -> str | None:
    runs = _CJK.findall(text)
    words = [w for w in _WORD.findall(text) if len(w) <= 40]  # words, not a test file's run of "bbbb…"
    if runs and (not words or rng.random() < 0.5):
        run = rng.choice(runs)
        size = rng.randint(2, min(4, len(run)))
        start = rng.randrange(len(run) - size + 1)
        return run[start:start + size]
    return rng.choice(words) if words else None


def test_words_of_every_part_type_are_found(corpus_archive):
    """Words drawn from each kind of text a message holds -- subject, what it says new, what it
    quotes, what only its HTML version says, its attachments' text -- find it (within its day)."""
    archive, _ = corpus_archive
    rng = random.Random(18)
    with archive.sessions() as session:
        dates = dict(session.execute(select(Message.sha256, Message.date).where(Message.status == "ok")).all())
    items = [it for p in sorted(SHARED_CORPUS.iterdir()) if p.is_dir() for it in iter_source(p)]
    rng.shuffle(items)
    drawn: dict[str, int] = {}
    missed = []
    for item in items:
        sha = hash_bytes(item.data)
        if sha not in dates:
            continue
        try:
            parsed = parse_message(item.data)
        except ParseError:
            continue
        kinds = {"html alternative": html_adds(parsed.html_text, parsed.text)}
        if all(drawn.get(k, 0) >= 60 for k in ("subject", "new text", "quoted", "attachment")):
            if not kinds["html alternative"]:
                continue
        reading = read_message(parsed, extract_attachments(parsed.attachments))
        kinds.update({"subject": parsed.subject, "new text": reading.body, "quoted": reading.quoted,
                      "attachment": "\n".join(text for _, text in reading.attachment_texts)})
        day = dates[sha].replace(hour=0, minute=0, second=0, microsecond=0)
        for kind, text in kinds.items():
            if drawn.get(kind, 0) >= 60 or not text or not (term := _word(text, rng)):
                continue
            drawn[kind] = drawn.get(kind, 0) + 1
            request = SearchRequest(text=f'"{term}"', since=day, until=day + timedelta(days=1), limit=100000)
            if sha not in {h.id for h in search(archive.index, request).hits}:
                missed.append((kind, item.origin, term))
    assert drawn.get("html alternative", 0) >= 20 and drawn.get("attachment", 0) >= 2
    assert min(drawn.get(k, 0) for k in ("subject", "new text", "quoted")) >= 60
    assert missed == []
