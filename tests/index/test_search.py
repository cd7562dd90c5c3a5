"""Search over a real index of each engine: the query language, attachments, quotes and quoted replies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from index import QueryError, SearchIndex, SearchIndexError, SearchRequest, build_document, search
from index.plan import lower
from ingest import extract_attachments, parse_message, read_message
from tests.conftest import ENGINES, index_database, make_message
from tests.ingest.files import make_docx, make_pdf, make_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

MESSAGES = {
    "offer": dict(
        subject="Widgets", sender="Anna <anna@northwind-trading.com>", to="Bob <bob@acme-industrial.com>",
        cc="Carol <carol@sub.acme-industrial.com>", body="Please find our offer attached.\n\n-- \nAnna Lee\nSales",
        date=datetime(2024, 3, 5, tzinfo=timezone.utc),
        attachments=(
            ("Spec.docx", make_docx("Valve specification", "Material brass"), DOCX),
            ("Quotation_Q7.pdf", make_pdf("QUOTATION Q-7", "Zebra valves USD 12,500 FOB Ningbo"), "application/pdf"),
        ),
    ),
    "reply": dict(
        subject="Re: Widgets", sender="Bob <bob@acme-industrial.com>", to="Anna <anna@northwind-trading.com>",
        body="Thanks, agreed.\n\nOn Mon, Anna wrote:\n> Giraffe valves are in stock.",
        date=datetime(2024, 3, 6, tzinfo=timezone.utc),
    ),
    "giraffe": dict(
        subject="Stock", sender="Anna <anna@northwind-trading.com>", to="Bob <bob@acme-industrial.com>",
        body="Giraffe valves are in stock.", date=datetime(2024, 3, 4, tzinfo=timezone.utc),
    ),
    "zh": dict(
        subject="報價單 閥門", sender="李 <li@example.cn>", to="Anna <anna@northwind-trading.com>",
        body="您好，附件是報價單，請查收。型號ZY9。", date=datetime(2025, 4, 1, tzinfo=timezone.utc),
        attachments=(("价格表.xlsx", make_xlsx([["型号", "单价"], ["ZY9", "USD 88"]], title="Sheet1"), XLSX),),
    ),
    "plain": dict(
        subject="Lunch", sender="Dan <dan@example.org>", to="Eve <eve@example.org>",
        body="Lunch at noon? zebra crossing nearby", date=datetime(2025, 6, 30, 23, 0, tzinfo=timezone.utc),
    ),
}
FOLDERS = {"offer": ("Sent",), "reply": ("INBOX",), "giraffe": ("Sent",), "zh": ("INBOX", "Customers/China"),
           "plain": ("INBOX",)}
CUSTOMERS = {"offer": (1,), "reply": (1,), "giraffe": (1,), "zh": (2,)}


@pytest.fixture(scope="module", params=ENGINES)
def index(tmp_path_factory, request) -> Iterator[SearchIndex]:
    with index_database(request.param, request) as database:
        ix = _index(tmp_path_factory.mktemp("ix") / "index", request.param, database)
        yield ix
        ix.engine.close()


def _index(path: Path, engine: str, database) -> SearchIndex:
    ix = SearchIndex(path, engine=engine, database=database)
    ix.create()
    with ix.writer() as writer:
        for key, fields in MESSAGES.items():
            parsed = parse_message(make_message(message_id=f"<{key}@x>", **fields))
            texts = extract_attachments(parsed.attachments)
            writer.put(build_document(
                key, parsed, read_message(parsed, texts), date=fields["date"].replace(tzinfo=None),
                customers=CUSTOMERS.get(key, ()), folders=FOLDERS[key],
                accounts=("anna",) if key != "plain" else ("dan",),
            ))
    return ix


def _ids(index: SearchIndex, text: str, **kw) -> set[str]:
    return {h.id for h in search(index, SearchRequest(text=text, limit=50, **kw)).hits}


def test_attachment_text_is_found_and_the_hit_names_the_attachment(index: SearchIndex) -> None:
    (hit,) = search(index, SearchRequest(text="Ningbo")).hits
    assert hit.id == "offer"
    assert hit.matched_in == "attachment"
    assert hit.attachments == ("Quotation_Q7.pdf",)
    assert "**Ningbo**" in hit.snippet
    (hit,) = search(index, SearchRequest(text="brass")).hits
    assert hit.attachments == ("Spec.docx",)
    (hit,) = search(index, SearchRequest(text="单价")).hits
    assert (hit.id, hit.attachments) == ("zh", ("价格表.xlsx",))


def test_a_word_in_the_body_and_an_attachment_reports_both(index: SearchIndex) -> None:
    hits = {h.id: h for h in search(index, SearchRequest(text="zebra")).hits}
    assert set(hits) == {"offer", "plain"}
    assert hits["offer"].attachments == ("Quotation_Q7.pdf",)
    assert hits["plain"].matched_in == "body" and hits["plain"].attachments == ()


def test_traditional_and_simplified_find_each_other(index: SearchIndex) -> None:
    assert _ids(index, "报价单") == _ids(index, "報價單") == {"zh"}
    assert _ids(index, "型号ZY9") == {"zh"}  # Chinese touching Latin, no space
    assert _ids(index, "阀门 zy9") == {"zh"}


def test_boolean_phrase_and_prefix(index: SearchIndex) -> None:
    assert _ids(index, "zebra AND lunch") == {"plain"}
    assert _ids(index, "zebra -lunch") == {"offer"}
    assert _ids(index, "zebra OR giraffe") == {"offer", "plain", "giraffe", "reply"}
    assert _ids(index, '"valves are in stock"') == {"giraffe", "reply"}
    assert _ids(index, '"stock are valves"') == set()
    assert _ids(index, "giraf*") == {"giraffe", "reply"}
    assert _ids(index, "NOT zebra NOT giraffe") == {"zh"}


def test_a_readers_scope_keeps_to_their_customers_and_accounts_on_every_engine(index: SearchIndex) -> None:
    # Customer 2's mail and the account "dan" ("plain" links to no customer): the web's rep scope.
    assert _ids(index, "", within=((2,), ("dan",))) == {"zh", "plain"}
    assert _ids(index, "zebra", within=((1,), ())) == {"offer"}
    assert _ids(index, "", within=((), ())) == set()  # nothing in scope: nothing at all


def test_relevance_hits_carry_the_traits_ranking_weighs(index: SearchIndex) -> None:
    query, _ = lower("zebra", {})
    traits = {h.id: h.fields.get("traits") for h in index.open().search(query, None, scored=True, limit=10).hits}
    assert traits == {"offer": ["customer"], "plain": []}


@pytest.mark.parametrize(("query", "expected"), [
    ("from:anna@northwind-trading.com", {"offer", "giraffe"}),
    ("from:northwind-trading.com", {"offer", "giraffe"}),
    ("from:anna", {"offer", "giraffe"}),
    ("to:anna@northwind-trading.com", {"reply", "zh"}),
    ("cc:acme-industrial.com", {"offer"}),
    ("cc:carol", {"offer"}),
    ("domain:acme-industrial.com", {"offer", "reply", "giraffe"}),
    ("domain:example.cn", {"zh"}),
    ("subject:widgets", {"offer", "reply"}),
    ("subject:zebra", set()),
    ("filename:pdf", {"offer"}),
    ("filename:价格表", {"zh"}),
    ("folder:sent", {"offer", "giraffe"}),
    ("folder:customers/china", {"zh"}),
    ("folder:cust*", {"zh"}),
    ("account:dan", {"plain"}),
    ("has:attachment", {"offer", "zh"}),
    ("is:quote", {"offer", "zh"}),
    ("lang:zh", {"zh"}),
    ("lang:en -has:attachment", {"reply", "giraffe", "plain"}),
    ("before:2024-03-05", {"giraffe"}),
    ("after:2025", {"zh", "plain"}),
    ("date:2025-03..2025-06", {"zh", "plain"}),
    ("date:2024-03-05", {"offer"}),
    ("报价单 date:2025-04 from:li@example.cn", {"zh"}),
])
def test_filters(index: SearchIndex, query: str, expected: set[str]) -> None:
    assert _ids(index, query) == expected


def test_customer_filter_uses_the_ids_the_caller_resolved(index: SearchIndex) -> None:
    assert _ids(index, "customer:acme valves", customers={"acme": (1,)}) == {"offer", "giraffe", "reply"}
    assert _ids(index, "customer:nobody", customers={"nobody": ()}) == set()
    with pytest.raises(QueryError, match="customer:acme could not be looked up"):
        search(index, SearchRequest(text="customer:acme"))


def test_quoted_replies_and_signatures_rank_below_new_text(index: SearchIndex) -> None:
    hits = search(index, SearchRequest(text="giraffe", sort="relevance")).hits
    assert [h.id for h in hits] == ["giraffe", "reply"]
    assert hits[1].matched_in == "quoted"
    # The signature is still searchable.
    assert _ids(index, '"anna lee"') == {"offer"}


def test_quote_hits_carry_files_and_amounts(index: SearchIndex) -> None:
    hits = {h.id: h for h in search(index, SearchRequest(text="is:quote")).hits}
    assert hits["offer"].is_quote
    assert hits["offer"].quote_files == ("Quotation_Q7.pdf",)
    assert hits["offer"].amounts == ("USD 12,500", "FOB Ningbo")


def test_sorting_by_date_and_filters_only(index: SearchIndex) -> None:
    assert [h.id for h in search(index, SearchRequest(text="has:attachment")).hits] == ["zh", "offer"]
    hits = search(index, SearchRequest(text="valves", sort="date")).hits
    assert [h.id for h in hits] == ["reply", "offer", "giraffe"]


def test_malformed_query_raises_query_error(index: SearchIndex) -> None:
    with pytest.raises(QueryError, match="column 7: this quote is never closed"):
        search(index, SearchRequest(text='zebra "lunch'))


def test_an_index_from_before_attachment_text_asks_for_a_reindex(tmp_path: Path) -> None:
    from whoosh.fields import ID, Schema
    from whoosh.filedb.filestore import FileStorage

    path = tmp_path / "old"
    path.mkdir()
    FileStorage(str(path)).create_index(Schema(id=ID(stored=True)), indexname="messages")
    with pytest.raises(SearchIndexError, match="run `dossier reindex`"):
        search(SearchIndex(path), SearchRequest(text="x"))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_long_body_gets_its_snippet_where_it_matches(tmp_path: Path, engine: str, engine_database) -> None:
    # The match lies beyond the first 2,000 characters, and far after it folding changes the
    # text's length ("ß" -> "ss"): the snippet still shows the match, in the original script.
    filler = "\n".join(f"Line {n} of the delivery schedule for the pumps." for n in range(60))
    body = f"{filler}\n報價單 for the valves attached.\n{filler}\n{filler}\nGrüße aus der Straße\n"
    ix = SearchIndex(tmp_path / "index", engine=engine, database=engine_database)
    ix.create()
    parsed = parse_message(make_message(message_id="<long@x>", subject="Schedule", body=body))
    with ix.writer() as writer:
        writer.put(build_document("long", parsed, read_message(parsed), date=datetime(2025, 1, 1)))
    (hit,) = search(ix, SearchRequest(text="报价单")).hits
    assert hit.matched_in == "body"
    assert "**報價單**" in hit.snippet
