"""Customers, linking and search through the CLI, checked against the database and the JSON output."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from config import Archive, load_settings
from ingest import Message
from linker import Customer, Link
from tests.conftest import ENGINES, OWN, Dossier, make_message

pytestmark = pytest.mark.parametrize("engine", ENGINES)  # every test on every engine


def _write(folder: Path, name: str, raw: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(raw)


def _links(d: Dossier) -> dict[str, set[tuple[str, str, str]]]:
    """subject -> {(customer, role, method)} from the database."""
    archive = Archive(load_settings(d.data_dir))
    with archive.sessions() as s:
        rows = s.execute(
            select(Message.subject, Customer.name, Link.role, Link.method)
            .join(Link, Link.message_id == Message.id).join(Customer, Customer.id == Link.customer_id)
        ).all()
    out: dict[str, set] = {}
    for subject, name, role, method in rows:
        out.setdefault(subject, set()).add((name, role, method))
    return out


def test_customer_csv_import_keeps_unknown_columns_and_reports_bad_rows(team: Dossier, tmp_path: Path):
    csv = tmp_path / "customers.csv"
    csv.write_text(
        "name,domains,emails,country,notes,owner\n"
        "Acme Industrial,acme-industrial.com,,US,big buyer,anna\n"
        ",nameless.com,,,,\n"
        "宁波海通贸易,haitong-nb.cn,wangfang@163.com;li@haitong-nb.cn,CN,,tom\n",
        encoding="utf-8",
    )
    result = team.run("customers", "import", csv, expect=1)
    assert f"{csv}:3" in result.output and "name" in result.output
    customers = {c["name"]: c for c in team.json("customers", "list")}
    assert set(customers) == {"Acme Industrial", "宁波海通贸易"}
    assert customers["Acme Industrial"]["owner"] == "anna"
    assert customers["Acme Industrial"]["fields"] == {}
    assert customers["宁波海通贸易"]["emails"] == ["li@haitong-nb.cn", "wangfang@163.com"]
    for key in ("name", "domains", "emails", "messages", "first_contact", "last_contact"):
        assert key in customers["Acme Industrial"]


def test_customer_file_without_name_column_is_one_clear_line(team: Dossier, tmp_path: Path):
    csv = tmp_path / "bad.csv"
    csv.write_text("Firma,domains\nAcme,acme.com\n")
    result = team.run("customers", "import", csv, expect=1)
    assert "name" in result.output and "Traceback" not in result.output


def test_linking_by_address_domain_freemail_and_internal(team: Dossier, tmp_path: Path):
    team.run("customers", "add", "Acme Industrial", "--domain", "acme-industrial.com")
    team.run("customers", "add", "Bristol Components", "--domain", "bristol-components.co.uk")
    team.run("customers", "add", "Gmail Buyer", "--email", "buyer.joe@gmail.com")
    box = tmp_path / "mail"
    _write(box, "1.eml", make_message(subject="sub host", message_id="<1@x>",
                                      sender="Jim <jim@sales.acme-industrial.com>", to=f"anna@{OWN}"))
    _write(box, "2.eml", make_message(subject="uk", message_id="<2@x>",
                                      sender="Pat <pat@mail.bristol-components.co.uk>", to=f"tom@{OWN}"))
    _write(box, "3.eml", make_message(subject="gmail exact", message_id="<3@x>",
                                      sender="buyer.joe@gmail.com", to=f"anna@{OWN}"))
    _write(box, "4.eml", make_message(subject="gmail stranger", message_id="<4@x>",
                                      sender="someone.else@gmail.com", to=f"anna@{OWN}"))
    _write(box, "5.eml", make_message(subject="internal", message_id="<5@x>",
                                      sender=f"anna@{OWN}", to=f"tom@mail.{OWN}"))
    _write(box, "6.eml", make_message(subject="outgoing", message_id="<6@x>", sender=f"anna@{OWN}",
                                      to="jim@acme-industrial.com", cc="Pat <pat@bristol-components.co.uk>"))
    report = team.json("import", box)
    assert report["linked"] == 4
    links = _links(team)
    assert links["sub host"] == {("Acme Industrial", "from", "domain")}
    assert links["uk"] == {("Bristol Components", "from", "domain")}
    assert links["gmail exact"] == {("Gmail Buyer", "from", "address")}
    assert "gmail stranger" not in links and "internal" not in links
    assert links["outgoing"] == {("Acme Industrial", "to", "domain"), ("Bristol Components", "cc", "domain")}
    status = team.json("status")
    assert status["linked"] == 4 and status["internal"] == 1 and status["unlinked"] == 1


def test_customers_added_after_import_relink_history_and_search(team: Dossier, tmp_path: Path):
    _write(tmp_path / "m", "1.eml", make_message(subject="Quotation Q-17", message_id="<q@x>",
                                                 sender="li@haitong-nb.cn", body="FOB Ningbo USD 12,500"))
    assert team.json("import", tmp_path / "m")["linked"] == 0
    team.run("search", "quotation", "--customer", "Haitong", expect=1)  # no such customer yet
    team.run("customers", "add", "Ningbo Haitong", "--domain", "haitong-nb.cn")
    hits = team.json("search", "quotation", "--customer", "haitong")
    assert [h["subject"] for h in hits] == ["Quotation Q-17"]
    assert hits[0]["customers"] == ["Ningbo Haitong"]
    shown = team.json("customers", "show", "Ningbo Haitong")
    assert shown["messages"] == 1 and shown["first_contact"].startswith("2024-03-05")


def test_unknown_customer_filter_is_a_clear_error(team: Dossier):
    result = team.run("search", "x", "--customer", "Nobody", expect=1)
    assert "no customer matches 'Nobody'" in result.output


@pytest.fixture
def searchable(team: Dossier, tmp_path: Path) -> Dossier:
    team.run("customers", "add", "Acme Industrial", "--domain", "acme-industrial.com")
    box = tmp_path / "s"
    _write(box, "1.eml", make_message(
        subject="报价单 for valves", message_id="<s1@x>", sender="jim@acme-industrial.com",
        body="您好，附件是我们的报价单，请查收。Price USD 12,500 FOB Ningbo.",
        date=datetime(2023, 6, 1, tzinfo=timezone.utc),
        attachments=(("price-list.xlsx", b"PK\x03\x04 not really", "application/octet-stream"),)))
    _write(box, "2.eml", make_message(
        subject="Samples shipped", message_id="<s2@x>", sender="ops@other-company.com",
        body="The samples left the factory today. 样品已经发出。",
        date=datetime(2024, 6, 1, tzinfo=timezone.utc)))
    _write(box, "3.eml", make_message(
        subject="Re: samples", message_id="<s3@x>", sender="jim@acme-industrial.com",
        body="Thanks, samples received in good order.",
        date=datetime(2025, 1, 15, tzinfo=timezone.utc)))
    team.json("import", box)
    return team


def test_search_json_has_the_documented_fields(searchable: Dossier):
    hits = searchable.json("search", "valves")
    assert len(hits) == 1
    hit = hits[0]
    for key in ("message_id", "date", "from", "to", "subject", "customers", "snippet", "attachments", "path"):
        assert key in hit
    assert hit["message_id"] == "s1@x" and hit["from"] == "jim@acme-industrial.com"
    assert hit["date"].startswith("2023-06-01T00:00:00") and hit["customers"] == ["Acme Industrial"]
    assert hit["attachments"] == ["price-list.xlsx"] and Path(hit["path"]).exists()


def test_hit_rows_are_read_in_pages_with_the_same_result(searchable: Dossier, monkeypatch: pytest.MonkeyPatch):
    # Rows are read page by page (bounded IN lists); a long result reads several pages.
    whole = searchable.json("search", "", "--limit", "50")
    assert len(whole) >= 3
    monkeypatch.setattr("config.queries.search.HIT_PAGE", 2)
    assert searchable.json("search", "", "--limit", "50") == whole


@pytest.mark.parametrize("query", ["报价单", "报价", "价单", "请查收", "附件是我们", "样品", "已经发出"])
def test_chinese_words_are_found_without_spaces(searchable: Dossier, query: str):
    assert searchable.json("search", query), query


def test_chinese_query_does_not_match_scattered_characters(searchable: Dossier):
    assert searchable.json("search", "单报") == []


def test_search_is_newest_first_and_filters_by_customer_sender_and_date(searchable: Dossier):
    assert [h["message_id"] for h in searchable.json("search", "samples")] == ["s3@x", "s2@x"]
    assert [h["message_id"] for h in searchable.json("search", "samples", "--customer", "acme")] == ["s3@x"]
    from_ops = searchable.json("search", "samples", "--from", "ops@other-company.com")
    assert [h["message_id"] for h in from_ops] == ["s2@x"]
    assert [h["message_id"] for h in searchable.json("search", "", "--from", "acme-industrial.com")] == ["s3@x", "s1@x"]
    assert [h["message_id"] for h in searchable.json("search", "samples", "--since", "2024-01-01",
                                                     "--until", "2025-01-01")] == ["s2@x"]


def test_search_finds_attachment_names_and_highlights_matches(searchable: Dossier):
    assert [h["message_id"] for h in searchable.json("search", "price-list.xlsx")] == ["s1@x"]
    snippet = searchable.json("search", "报价单")[0]["snippet"]
    assert "**报价单**" in snippet


def test_search_by_relevance_and_limit(searchable: Dossier):
    hits = searchable.json("search", "samples", "--sort", "relevance", "--limit", "1")
    assert len(hits) == 1


def test_search_text_output_shows_date_sender_subject_customers(searchable: Dossier):
    out = searchable.run("search", "valves").stdout
    assert "2023-06-01" in out and "jim@acme-industrial.com" in out
    assert "报价单 for valves" in out and "Acme Industrial" in out


def test_bad_date_is_a_clear_error(searchable: Dossier):
    result = searchable.run("search", "x", "--since", "last tuesday", expect=2)
    assert "YYYY-MM-DD" in result.output


def test_show_prints_headers_text_and_attachments(searchable: Dossier):
    hit = searchable.json("search", "valves")[0]
    out = searchable.run("show", hit["id"]).stdout
    assert "Subject:  报价单 for valves" in out and "请查收" in out
    assert "price-list.xlsx" in out and "Acme Industrial" in out


def test_reindex_rebuilds_a_deleted_index(searchable: Dossier):
    import shutil

    shutil.rmtree(searchable.data_dir / "index")
    searchable.run("reindex")
    assert [h["message_id"] for h in searchable.json("search", "valves")] == ["s1@x"]
    status = searchable.json("status")
    assert status["index_documents"] == 3 and status["indexed"] == 3


def test_status_counts(searchable: Dossier):
    status = searchable.json("status")
    assert {k: status[k] for k in ("messages", "failed", "customers", "linked", "unlinked", "indexed")} == {
        "messages": 3, "failed": 0, "customers": 1, "linked": 2, "unlinked": 1, "indexed": 3,
    }


def test_snippet_shows_a_match_deep_inside_a_long_body(team: Dossier, tmp_path: Path):
    body = ("Lorem ipsum dolor sit amet. " * 400) + "The container number is MSKU7788123. " + ("Filler text. " * 200)
    _write(tmp_path / "long", "1.eml", make_message(subject="Shipping", message_id="<long@x>", body=body))
    team.json("import", tmp_path / "long")
    snippet = team.json("search", "MSKU7788123")[0]["snippet"]
    assert "**MSKU7788123**" in snippet


@pytest.mark.parametrize("query", ['"unterminated', "a AND (b OR", "subject:", "*", "报价（", "ＡＢＣ", "NOT NOT NOT"])
def test_odd_queries_answer_or_fail_in_one_line(searchable: Dossier, query: str):
    result = searchable.run("search", query, expect=None)
    assert result.exit_code in (0, 1) and "Traceback" not in result.output
    if result.exit_code:
        assert len(result.output.strip().splitlines()) == 1 and "query" in result.output


def test_customer_sheet_in_xlsx_with_chinese_headers(team: Dossier, tmp_path: Path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["客户名称", "网址", "邮箱", "国家", "备注", "负责人"])
    sheet.append(["宁波海通贸易有限公司", "https://www.haitong-nb.cn/", "wangfang@163.com", "中国", "法兰", "Anna"])
    sheet.append(["Bad Row Ltd", "", "not-an-address", "", "", ""])
    book.save(tmp_path / "客户汇总表.xlsx")
    result = team.run("customers", "import", tmp_path / "客户汇总表.xlsx", expect=1)
    # The unreadable address is named; the row still imports, and is said to link nothing.
    assert "客户汇总表.xlsx:3: 邮箱: 'not-an-address' is not a valid address, ignored" in result.stderr
    assert "1 of 2 customers can link no mail" in result.stderr
    bad, customer = team.json("customers", "list")  # sorted by name
    assert customer["name"] == "宁波海通贸易有限公司" and customer["domains"] == ["haitong-nb.cn"]
    assert customer["emails"] == ["wangfang@163.com"] and customer["country"] == "中国"
    assert (customer["owner"], customer["fields"]) == ("Anna", {})
    assert (bad["name"], bad["emails"]) == ("Bad Row Ltd", [])


def test_terminal_escape_sequences_in_mail_are_not_passed_to_the_terminal(team: Dossier, tmp_path: Path):
    evil = "Invoice \x1b]0;pwned\x07 \x1b[2J overdue"
    _write(tmp_path / "e", "1.eml", make_message(subject="Invoice overdue", message_id="<esc@x>", body=evil))
    team.json("import", tmp_path / "e")
    shown = team.run("show", "<esc@x>").stdout
    listed = team.run("search", "overdue").stdout
    for out in (shown, listed):
        assert "\x1b" not in out and "\x07" not in out
    assert "overdue" in shown


def _drop_search_tables(dossier: Dossier) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(load_settings(dossier.data_dir).database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE search_documents"))
    engine.dispose()


def test_an_empty_result_from_a_missing_index_says_so(dossier: Dossier, tmp_path: Path, engine: str):
    import shutil

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.eml").write_bytes(make_message(subject="flange quotation"))
    dossier.run("import", tmp_path / "in")
    assert dossier.run("search", "nothing-like-this").stderr == ""  # complete index: no warning
    shutil.rmtree(dossier.data_dir / "index")
    (dossier.data_dir / "index").mkdir()
    if engine == "postgres":  # the index lives in the database: drop it there
        _drop_search_tables(dossier)
    result = dossier.run("search", "flange")
    assert "No messages found." in result.stdout
    assert "1 archived messages are not in the search index" in result.stderr
    dossier.run("reindex")
    assert "flange quotation" in dossier.run("search", "flange").stdout
