"""Every command prints what it printed when the golden outputs were recorded (tests/golden/),
on archives with the Whoosh engine; the same commands on tantivy, and on PostgreSQL (with
tantivy or the postgres engine), print the same but for what two engines may differ in: the
engine's name, scores, and the order of relevance-ranked hits.

A refactoring promises byte-identical output; a deliberate change of output re-records the
files with ``python -m tests.golden.harness --write`` and says so in its commit.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Databases
from tests.golden.harness import comparable, differences, engine_differences, record


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sample", "gen2000"])
def test_every_command_prints_what_it_printed_before(name: str):
    assert differences(name, record(name)) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sample", "gen2000"])
def test_tantivy_prints_the_same_but_for_scores_and_relevance_order(name: str):
    assert engine_differences(name, record(name, "tantivy")) == []


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize(("name", "engine"), [("sample", "tantivy"), ("sample", "postgres"), ("gen2000", "postgres")])
def test_on_postgresql_every_command_prints_the_same(name: str, engine: str, postgres: Databases):
    with postgres.new(template=None) as url:
        assert engine_differences(name, record(name, engine, url)) == []


_RANKED = "2025-01-02  aaa  x\n  one\n  snippet\n2025-01-01  bbb  y\n  two\n  snippet\n2 messages\n"


def _result(args: list[str], stdout: str) -> dict:
    return {"args": args, "exit": 0, "stdout": stdout, "stderr": ""}


def test_only_scores_relevance_order_and_the_engine_name_may_differ():
    swapped = "2025-01-01  bbb  y\n  two\n  snippet\n2025-01-02  aaa  x\n  one\n  snippet\n2 messages\n"
    relevance = ["search", "q", "--sort", "relevance"]
    assert comparable(_result(relevance, _RANKED)) == comparable(_result(relevance, swapped))
    # Newest first is no ranking: its order must not move.
    assert comparable(_result(["search", "q"], _RANKED)) != comparable(_result(["search", "q"], swapped))
    # Nor may a hit's text, even ranked.
    assert comparable(_result(relevance, _RANKED)) != comparable(_result(relevance, _RANKED.replace("one", "uno")))
    hit = {"id": "aaa", "score": 1.5, "snippet": "x"}
    scored = comparable(_result(["search", "q", "--json"], json.dumps([hit])))
    assert scored == comparable(_result(["search", "q", "--json"], json.dumps([dict(hit, score=0.0)])))
    assert scored != comparable(_result(["search", "q", "--json"], json.dumps([dict(hit, snippet="y")])))
    status = [comparable(_result(["status"], f"Engine      {name}\n")) for name in ("whoosh", "tantivy", "postgres")]
    assert status[0] == status[1] == status[2]
    init = ["init", "--engine", "whoosh", "--own-domain", "x.com"]
    assert comparable(_result(init, "")) == comparable(_result([*init[:2], "tantivy", *init[3:]], ""))
