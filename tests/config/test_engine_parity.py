"""Every engine finds exactly the same messages: the generator's ground-truth queries (every
category: English codes, Chinese, Traditional, words only in attachments), each also narrowed
by filters, negated and as a phrase, and filters alone, on the same 2,000-message archive built
once per engine (the postgres engine's on PostgreSQL); ranked by relevance, each engine puts a
query's few expected messages in its top ten."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from config import Archive, load_settings
from index import SearchRequest, filter_values, parse_query, search
from index.plan import lower
from linker import find_customer
from tests.conftest import ENGINES, OWN, REPO, Dossier, backends

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    subprocess.run([sys.executable, str(REPO / "scripts" / "gen_corpus.py"), str(out), "--messages", "2000",
                    "--seed", "7"], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def archives(corpus: Path, tmp_path_factory: pytest.TempPathFactory,
             request: pytest.FixtureRequest) -> Iterator[dict[str, Archive]]:
    built = {}
    with ExitStack() as stack:
        for engine in ENGINES:
            where = []
            if engine == "postgres":
                if "postgres" not in backends():
                    continue
                where = ["--database-url", stack.enter_context(request.getfixturevalue("postgres").new())]
            dossier = Dossier(tmp_path_factory.mktemp(engine) / "data")
            dossier.run("init", "--engine", engine, "--own-domain", OWN, *where)
            dossier.run("customers", "import", corpus / "customers.csv")
            dossier.run("import", corpus / "maildir", "--account", "team")
            built[engine] = Archive(load_settings(dossier.data_dir))
            stack.callback(built[engine].close)
        yield built


def _customers(archive: Archive, query: str) -> dict[str, tuple[int, ...]]:
    with archive.sessions() as session:
        return {name: (find_customer(session, name).id,) for name in filter_values(parse_query(query), "customer")}


def _found(archive: Archive, query: str, *, sort: str = "date", limit: int = 20) -> list[str]:
    request = SearchRequest(text=query, limit=limit, sort=sort, customers=_customers(archive, query))
    return [hit.id for hit in search(archive.index, request).hits]


def _every_hit(archive: Archive, query: str) -> list[str]:
    """Every message the engine finds for ``query`` (what search() pages through, without
    cutting a snippet for each of thousands of hits)."""
    plan, _ = lower(query, _customers(archive, query))
    return [hit.id for hit in archive.index.open().search(plan, None, scored=False, limit=100_000).hits]


def _queries(corpus: Path) -> list[str]:
    truth = json.loads((corpus / "truth.json").read_text())
    words = [q["q"] for q in truth["queries"]]
    rng = random.Random(15)
    customers = sorted({name for names in truth["messages"].values() for name in names})
    filters = ["has:attachment", "is:quote", "lang:zh", "lang:en", "date:2024", "after:2024-06", "before:2024-03",
               "folder:inbox", "folder:s*", "account:team", "subject:re", "filename:pdf", "filename:xlsx",
               f"from:{OWN}", f"to:{OWN}", f"-from:{OWN}", "cc:*", f'customer:"{rng.choice(customers)}"',
               f'customer:"{rng.choice(customers)}"']
    queries = list(words) + [f for f in filters if f != "cc:*"]
    for word in rng.sample(words, 60):
        queries += [f"{word} {rng.choice(filters[:-3])}", f"-{word}", f'"{word}"', f"{word} OR {rng.choice(words)}",
                    f"{word[:3]}*"]
    return queries


def test_every_query_finds_the_same_messages_on_every_engine(archives: dict[str, Archive], corpus: Path):
    assert all(archive.index.engine_name == engine for engine, archive in archives.items())
    differing = []
    queries = _queries(corpus)
    for query in queries:
        found = {engine: _every_hit(archive, query) for engine, archive in archives.items()}
        pages = {engine: _found(archive, query) for engine, archive in archives.items()}
        for engine in archives:
            if pages[engine] != pages["tantivy"]:  # the first page, newest first, through search()
                differing.append((query, engine, "first page"))
            if set(found[engine]) != set(found["tantivy"]) or len(found[engine]) != len(set(found[engine])):
                differing.append((query, engine, len(found[engine]), len(found["tantivy"])))
    assert differing == [], differing[:20]
    assert len(queries) > 600


def test_relevance_puts_the_expected_messages_in_the_top_ten_on_every_engine(archives: dict[str, Archive],
                                                                            corpus: Path):
    truth = json.loads((corpus / "truth.json").read_text())
    by_header = {}
    with archives["whoosh"].sessions() as session:
        from sqlalchemy import select

        from ingest import Message

        by_header = {f"<{h}>": sha for sha, h in session.execute(select(Message.sha256, Message.header_message_id))}
    checked = 0
    for query in truth["queries"]:
        expected = {by_header[m] for m in query["expected"] if m in by_header}
        if not expected or len(expected) > 10:
            continue
        checked += 1
        for engine, archive in archives.items():
            top = set(_found(archive, query["q"], sort="relevance", limit=10))
            assert expected <= top, (engine, query["q"], len(expected - top))
    assert checked > 100
