"""Tokens produced ahead (index.analysed, in the import's worker processes): an index fed documents
carrying them finds exactly what one that analysed the texts itself finds, on every engine; a
document whose text no longer matches its tokens is analysed again."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from index import Document, SearchIndex, SearchRequest, analyse_document, search
from index.analysed import field_tokens, tokens_for

pytestmark = pytest.mark.parametrize("engine", ["tantivy", "whoosh"])

TEXTS = [
    ("Quotation for 报價單 FOB Ningbo", "The invoices are attached; 请确认交货期 and shipping by Friday."),
    ("Re: samples", "Thanks, Joe. The sample boxes (model TX-200) arrived; 样品已收到。"),
    ("Newsletter", "Stemming: shipped shipping ships. Ｆｕｌｌ-width ＡＢＣ１２３ text."),
]
QUERIES = ["quotation", "报价单", '"FOB Ningbo"', "ship", "样品", "tx-200", "abc123", "invoice", "确认"]


def _docs() -> list[Document]:
    return [Document(id=f"m{n}", date=datetime(2025, 1, 1 + n), subject=subject, body=body,
                     sender="Joe <joe@acme.example>", recipients="anna@northwind-trading.com",
                     from_addresses=("joe@acme.example",), addresses=("joe@acme.example",),
                     domains=("acme.example",), attachments=("q.pdf",), customers=(1,), folders=("INBOX",),
                     accounts=("anna",), quoted="> an earlier 报价 line")
            for n, (subject, body) in enumerate(TEXTS)]


def _hits(path: Path, engine: str, docs: list[Document]) -> dict[str, list[str]]:
    index = SearchIndex(path, engine=engine)
    index.create()
    with index.writer() as writer:
        for doc in docs:
            writer.add_new(doc)
    return {q: sorted(h.id for h in search(index, SearchRequest(text=q)).hits) for q in QUERIES}


def test_documents_with_tokens_produced_ahead_index_as_those_without(tmp_path: Path, engine: str):
    plain = _docs()
    ahead = [replace(doc, analysed=pickle.loads(pickle.dumps(analyse_document(doc)))) for doc in plain]
    expected = _hits(tmp_path / "plain", engine, plain)
    assert all(expected.values())
    assert _hits(tmp_path / "ahead", engine, ahead) == expected


def test_tokens_of_another_text_are_not_used(engine: str):
    doc = _docs()[0]
    stale = replace(doc, analysed=analyse_document(replace(doc, body="something else entirely")))
    assert tokens_for(stale, "body", doc.body) == field_tokens("body", doc.body)
    assert tokens_for(stale, "subject", doc.subject) == field_tokens("subject", doc.subject)
