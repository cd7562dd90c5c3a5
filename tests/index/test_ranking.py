"""Relevance ranking shared by the engines (index.searching.rerank), on stored hits (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from index.engine import StoredHit
from index.searching import RERANK_WINDOW, rerank


def hit(n: int, score: float, day: int = 1, *traits: str) -> StoredHit:
    return StoredHit(id=f"m{n}", score=score, date=datetime(2025, 1, 1) + timedelta(days=day),
                     fields={"traits": list(traits)})


def test_bulk_mail_ranks_below_a_customers_own_mail_of_the_same_score():
    ranked = rerank([hit(1, 5.0, 9, "bulk"), hit(2, 5.0, 1, "customer"), hit(3, 5.0, 5)])
    assert [h.id for h in ranked] == ["m2", "m3", "m1"]


def test_recency_decides_between_near_equals_only():
    assert [h.id for h in rerank([hit(1, 5.0, 1), hit(2, 4.99, 30)])] == ["m2", "m1"]
    assert [h.id for h in rerank([hit(1, 5.0, 1), hit(2, 3.0, 30)])] == ["m1", "m2"]


def test_hits_past_the_window_keep_the_engines_order_so_pages_never_overlap():
    hits = [hit(n, 1000.0 - n, n % 7, "bulk" if n % 3 else "customer") for n in range(RERANK_WINDOW + 50)]
    ranked = rerank(hits)
    assert [h.id for h in ranked[RERANK_WINDOW:]] == [h.id for h in hits[RERANK_WINDOW:]]
    assert sorted(h.id for h in ranked) == sorted(h.id for h in hits)
    # Any page is a slice of one order: the first 100 are the same whatever page is asked for.
    assert [h.id for h in rerank(hits[:RERANK_WINDOW])] == [h.id for h in ranked[:RERANK_WINDOW]]
