"""The README's first command on the bundled sample: what a new user sees must be right."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, Dossier, archive_database


@pytest.fixture(scope="module")
def sample(tmp_path_factory, backend: str, request: pytest.FixtureRequest) -> Iterator[Dossier]:
    with archive_database(backend, request) as url:
        d = Dossier(tmp_path_factory.mktemp("sample") / "data")
        d.run("init", "--own-domain", "northwind-trading.com", *(["--database-url", url] if url else []))
        d.run("customers", "import", REPO / "sample" / "customers.csv")
        report = d.json("import", REPO / "sample" / "mailbox", "--account", "sample")
        assert report == {**report, "seen": 35, "stored": 34, "duplicates": 1, "failed": 0}
        yield d


def test_status_after_the_sample_import(sample: Dossier):
    status = sample.json("status")
    assert {k: status[k] for k in ("messages", "failed", "customers", "linked", "unlinked", "internal", "indexed")} == {
        "messages": 34, "failed": 0, "customers": 6, "linked": 28, "unlinked": 4, "internal": 2, "indexed": 34,
    }


def test_every_customer_has_exactly_its_own_mail(sample: Dossier):
    counts = {c["name"].split(" ")[0]: c["messages"] for c in sample.json("customers", "list")}
    assert counts == {
        "Acme": 9, "宁波海通贸易有限公司": 6, "Müller": 4, "Bristol": 4, "台北精密股份有限公司": 3, "Mendes": 3,
    }


def test_the_readme_search_finds_acme_quotation(sample: Dossier):
    hits = sample.json("search", "quotation", "--customer", "acme")
    assert hits and all(h["customers"] == ["Acme Industrial"] or "Acme Industrial" in h["customers"] for h in hits)
    assert any("Quotation_Q-2024-017.pdf" in h["attachments"] for h in hits)


@pytest.mark.parametrize(("query", "expected"), [
    ("Felixstowe", 1),
    ("Hannover", 1),
    ("Fräsmaschine", 3),
    ("样品", 6),  # Traditional and Simplified find each other
    ("樣品", 6),
    ("FOB Ningbo", 11),  # one only in an XLSX attachment
    ("报价单", 8),
    ("proforma", 2),
])
def test_sample_queries_find_what_the_sample_readme_promises(sample: Dossier, query: str, expected: int):
    assert len(sample.json("search", query)) == expected


def test_free_mail_lead_is_not_linked_to_the_customer_on_the_same_provider(sample: Dossier):
    hits = sample.json("search", "", "--customer", "Haitong", "--limit", "50")
    senders = {h["from"] for h in hits}
    assert "wangfang@163.com" in senders and "liu.yang.trade@163.com" not in senders
    assert len(hits) == 6


def test_one_message_filed_in_two_folders_is_stored_once_with_both_copies(sample: Dossier):
    hits = sample.json("search", '"PO 4500-2291"', "--limit", "50")
    po = [h for h in hits if h["subject"].startswith("PO 4500-2291")]
    assert len(po) == 1
    assert sorted(po[0]["folders"]) == ["sample:Customers/Acme", "sample:INBOX"]


def test_chinese_subject_and_sender_decoded_for_display(sample: Dossier):
    out = sample.run("search", "订单", "--since", "2023-06-01", "--until", "2023-07-01").stdout
    assert "订单确认 PO-HT-230612" in out
    assert Path(sample.json("search", "订单")[0]["path"]).exists()
