"""The read library (config/queries) and the customer edits (config/edits) on the bundled sample,
asserted through the records a front end gets, not through printed text."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from config.archive import Archive
from config.edits import (
    add_customer,
    correct_link,
    import_customers,
    merge_customers,
    remove_customer,
    rename_customer,
)
from config.operations import OPERATIONS, RequestError, run_operation
from config.queries import (
    MessageNotFoundError,
    archive_status,
    customer_dossier,
    explain_links,
    list_accounts,
    list_conflicts,
    list_customers,
    list_duplicates,
    list_quotes,
    list_unlinked,
    read_message,
    read_raw_message,
    read_thread,
    search_messages,
    search_threads,
)
from config.settings import load_settings
from index import QueryError
from ingest import Message
from linker import CustomerNotFoundError, read_customer_sheet
from tests.conftest import Dossier, build_sample, make_message

#: A reply in the sample's Taipei Precision conversation (three messages).
TAIPEI_REPLY = "<nw.20240723.1620.al@northwind-trading.com>"


@pytest.fixture(scope="module")
def archive(sample: Dossier):
    opened = Archive(load_settings(sample.data_dir))
    yield opened
    opened.close()


def test_a_search_page_holds_its_hits_newest_first_with_what_a_reader_sees(archive: Archive):
    page = search_messages(archive, "quotation", customer="acme")
    assert page.hits and page.total == len(page.hits) and page.missing_from_index == 0
    assert all(hit.customers == ("Acme Industrial",) for hit in page.hits)
    dates = [hit.date for hit in page.hits]
    assert dates == sorted(dates, reverse=True)
    for hit in page.hits:
        assert hit.sha256.startswith(hit.id) and Path(hit.path).exists()
    pdf = next(h for h in search_messages(archive, "PI-2024-0412.pdf").hits)
    assert "PI-2024-0412.pdf" in pdf.attachments and pdf.is_quote and "USD 12,500" in pdf.amounts


def test_a_search_page_counts_what_its_limit_leaves_out(archive: Archive):
    page = search_messages(archive, "", limit=5)
    assert len(page.hits) == 5 and page.total == 34
    assert [h.id for h in page.hits] == [h.id for h in search_messages(archive, "", limit=34).hits[:5]]


def test_search_errors_are_library_errors(archive: Archive):
    with pytest.raises(CustomerNotFoundError):
        search_messages(archive, "quotation", customer="no such customer")
    with pytest.raises(QueryError):
        search_messages(archive, "((broken")


def test_the_json_of_a_page_is_what_search_json_prints(sample: Dossier, archive: Archive):
    page = search_messages(archive, "报价单")
    assert page.as_json()["hits"] == sample.json("search", "报价单")
    threads = search_threads(archive, "樣品")
    assert threads.as_json()["threads"] == sample.json("search", "樣品", "--threads")


def test_conversations_fold_the_hits_of_one_thread(archive: Archive):
    page = search_threads(archive, "樣品")
    assert len(page.threads) == 2
    for thread in page.threads:
        assert 1 <= len(thread.hits) <= thread.messages and thread.first <= thread.last
    assert search_threads(archive, "樣品", limit=1).threads == page.threads[:1]


def test_an_empty_page_says_when_the_index_lacks_archived_mail(dossier: Dossier, tmp_path: Path):
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "1.eml").write_bytes(make_message(subject="zebracorn", message_id="<z@x.org>"))
    dossier.run("import", tmp_path / "box")
    archive = Archive(load_settings(dossier.data_dir))
    try:
        assert search_messages(archive, "nothing here").missing_from_index == 0
        with archive.sessions.begin() as session:  # as an import killed before indexing leaves it
            session.execute(update(Message).values(indexed_at=None))
        assert search_messages(archive, "nothing here").missing_from_index == 1
        assert search_messages(archive, "zebracorn").missing_from_index == 0  # hits: nothing to warn about
    finally:
        archive.close()


def test_quotes_are_newest_first_with_files_and_amounts(archive: Archive):
    page = list_quotes(archive, customer="Haitong")
    assert page.quotes and all("Haitong" in " ".join(q.customers) for q in page.quotes)
    assert [q.date for q in page.quotes] == sorted((q.date for q in page.quotes), reverse=True)
    quote = next(q for q in page.quotes if q.files)
    assert quote.files == ("报价单.pdf",) and "CNY 77,000.00" in quote.amounts
    assert list_quotes(archive, since=datetime(2024, 1, 1), limit=2).total == 5


def test_a_message_view_and_its_raw_bytes(archive: Archive):
    view = read_message(archive, TAIPEI_REPLY)
    assert view.status == "ok" and view.message_id == TAIPEI_REPLY.strip("<>")
    assert [p.email for p in view.sender] == ["anna.li@northwind-trading.com"]
    assert view.customers == ("台北精密股份有限公司 (Taipei Precision)",) and view.text
    raw = read_raw_message(archive, view.id)
    assert hashlib.sha256(raw).hexdigest() == view.sha256
    with_file = read_message(archive, search_messages(archive, "PI-2024-0412.pdf").hits[0].id)
    (attachment,) = with_file.attachments
    assert attachment.filename == "PI-2024-0412.pdf" and attachment.text_status == "ok" and attachment.size > 0


def test_a_message_nobody_has_or_several_have_is_a_clear_error(dossier: Dossier, tmp_path: Path):
    # Two messages whose ids share their first four digits, and two that share a Message-ID.
    seen: dict[str, bytes] = {}
    n = 0
    while True:
        raw = make_message(subject=f"m{n}", message_id=f"<m{n}@x.org>")
        prefix = hashlib.sha256(raw).hexdigest()[:4]
        if prefix in seen:
            break
        seen[prefix] = raw
        n += 1
    box = tmp_path / "box"
    box.mkdir()
    for name, data in (("a", seen[prefix]), ("b", raw), ("c", make_message(subject="one", message_id="<same@x.org>")),
                       ("d", make_message(subject="two", message_id="<same@x.org>"))):
        (box / f"{name}.eml").write_bytes(data)
    dossier.run("import", box)
    archive = Archive(load_settings(dossier.data_dir))
    try:
        with pytest.raises(MessageNotFoundError, match="use the id `dossier search` prints"):
            read_message(archive, "ffffffffffff")
        with pytest.raises(MessageNotFoundError, match="matches several messages"):
            read_thread(archive, prefix)
        assert read_thread(archive, hashlib.sha256(raw).hexdigest()[:12]).messages[0].subject == f"m{n}"
        with pytest.raises(MessageNotFoundError, match="shared by 2 messages"):
            explain_links(archive, "<same@x.org>")
    finally:
        archive.close()


def test_a_thread_is_oldest_first_with_the_asked_message_marked(archive: Archive):
    messages = read_thread(archive, TAIPEI_REPLY).messages
    assert len(messages) == 3
    assert [m.date for m in messages] == sorted(m.date for m in messages)
    assert [m.message_id for m in messages if m.is_selected] == [TAIPEI_REPLY.strip("<>")]


def test_a_link_explanation_names_the_rule_per_participant(archive: Archive):
    why = explain_links(archive, TAIPEI_REPLY)
    rules = {p.email: p.why for p in why.participants}
    assert rules["anna.li@northwind-trading.com"].startswith("internal")
    assert rules["lin.zm@taipei-precision.com.tw"].startswith("address lin.zm@taipei-precision.com.tw ->")
    taipei = "台北精密股份有限公司 (Taipei Precision)"
    assert [(link.customer, link.method) for link in why.links] == [(taipei, "address")]


def test_customer_lists_filter_dormant_and_waiting(archive: Archive):
    everyone = list_customers(archive).customers
    assert [c.name for c in everyone] == sorted(c.name for c in everyone) and len(everyone) == 6
    now = datetime(2026, 1, 15, 12, 0)
    dormant = list_customers(archive, dormant=timedelta(days=365), now=now).customers
    assert {c.name for c in dormant} == {c.name for c in everyone if now - c.last_contact >= timedelta(days=365)}
    waiting = list_customers(archive, waiting=True, now=now).customers
    assert waiting and [c.waiting_since for c in waiting] == sorted(c.waiting_since for c in waiting)
    assert all(c.waiting_days == round((now - c.waiting_since).total_seconds() / 86400, 1) for c in waiting)
    assert "waiting_since" not in everyone[0].as_json() and "waiting_since" in waiting[0].as_json()
    # The rep in charge comes from the customer sheet; people on file only where the sheet had some.
    assert {c.owner for c in everyone} == {"tom.baker@northwind-trading.com", "anna.li@northwind-trading.com"}
    assert all(c.people is None and "people" not in c.as_json() for c in everyone)


def test_a_customer_dossier_adds_up(archive: Archive):
    acme = customer_dossier(archive, "acme", limit=3)
    assert acme.name == "Acme Industrial" and acme.messages == 9
    assert acme.messages_in + acme.messages_out == acme.messages
    assert len(acme.latest) == 3 and [m.date for m in acme.latest] == sorted((m.date for m in acme.latest),
                                                                             reverse=True)
    assert any(q.files == ("Quotation_Q-2024-017.pdf",) for q in acme.quotes)
    with pytest.raises(CustomerNotFoundError):
        customer_dossier(archive, "no such customer")


def test_unlinked_senders_conflicts_and_status(archive: Archive):
    senders = list_unlinked(archive).senders
    assert [(s.kind, s.value) for s in senders][:2] == [("address", "kzhao.sourcing@gmail.com"),
                                                         ("domain", "harbourline-freight.com")]
    assert len(list_unlinked(archive, limit=1).senders) == 1
    assert list_conflicts(archive).conflicts == ()
    status = archive_status(archive)
    assert (status.messages, status.failed, status.customers, status.linked, status.internal) == (34, 0, 6, 28, 2)
    assert status.indexed == status.index_documents == 34 and status.pending_index == 0 and status.sync == ()
    assert status.engine == "tantivy"


def test_accounts_are_listed_without_passwords(dossier: Dossier, monkeypatch):
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text() + '\n[[accounts]]\nname = "work"\nhost = "imap.example.org"\n'
                      'username = "rep@example.org"\npassword_env = "SECRET_VAR"\n')
    (row,) = list_accounts(load_settings(dossier.data_dir)).as_json()
    assert row["name"] == "work" and row["port"] == 993 and "SECRET_VAR" not in json.dumps(row)


def test_every_operation_answers_its_functions_json(archive: Archive):
    assert run_operation(archive, "search", {"text": "quotation", "customer": "acme"}) == \
        search_messages(archive, "quotation", customer="acme").as_json()
    assert run_operation(archive, "customers", {"dormant": 365}) == \
        list_customers(archive, dormant=timedelta(days=365)).as_json()
    assert run_operation(archive, "quotes", {"since": "2024-01-01"}) == \
        list_quotes(archive, since=datetime(2024, 1, 1)).as_json()
    assert {"search", "search_threads", "quotes", "message", "thread", "link_explanation", "customers",
            "customer", "conflicts", "duplicates", "unlinked", "status"} <= set(OPERATIONS)
    for op, args in (("import", {}), ("search", {"text": 5}), ("search", {"limit": 0}), ("thread", {}),
                     ("search", {"sort": "size"}), ("customers", {"dormant": "90d"}), ("search", {"x": 1})):
        with pytest.raises(RequestError):
            run_operation(archive, op, args)


def test_customer_edits_relink_and_report(tmp_path: Path, database_url: str | None):
    sample = build_sample(tmp_path / "data", database_url)
    archive = Archive(load_settings(sample.data_dir))
    try:
        added = add_customer(archive, "Harbourline", domains=["harbourline-freight.com"])
        assert added.created and added.relinked == 1
        assert customer_dossier(archive, "Harbourline").messages == 1
        assert rename_customer(archive, "Harbourline", "Harbourline Freight").new == "Harbourline Freight"
        assert list_duplicates(archive).duplicates == ()
        add_customer(archive, "Acme Industrial Co., Ltd.")
        (likely,) = list_duplicates(archive).duplicates
        assert likely.customers == ("Acme Industrial", "Acme Industrial Co., Ltd.") and likely.why == "same name"
        assert likely.merge == "dossier customers merge 'Acme Industrial Co., Ltd.' 'Acme Industrial'"
        assert likely.as_json()["reasons"] == [{"kind": "name", "value": "acmeindustrial"}]
        remove_customer(archive, "Acme Industrial Co., Ltd.")

        merged = merge_customers(archive, "Harbourline Freight", "Acme Industrial")
        assert (merged.source, merged.target) == ("Harbourline Freight", "Acme Industrial")
        assert customer_dossier(archive, "acme").messages == 10

        pinned = correct_link(archive, TAIPEI_REPLY, "Bristol", "pin")
        assert pinned.customer == "Bristol Components Ltd"
        why = explain_links(archive, TAIPEI_REPLY)
        assert [(o.customer, o.action) for o in why.overrides] == [("Bristol Components Ltd", "pin")]
        correct_link(archive, TAIPEI_REPLY, "Bristol", None)
        assert explain_links(archive, TAIPEI_REPLY).overrides == ()

        removed = remove_customer(archive, "acme")
        assert removed.name == "Acme Industrial" and removed.relinked == 10
        assert "Acme Industrial" not in {c.name for c in list_customers(archive).customers}
    finally:
        archive.close()


def test_a_customer_sheet_import_plans_every_row_and_a_dry_run_writes_nothing(tmp_path: Path,
                                                                              database_url: str | None):
    sample = build_sample(tmp_path / "data", database_url)
    sheet = tmp_path / "more.csv"
    sheet.write_text("name,domains,emails\nHarbourline,harbourline-freight.com,\nAcme Industrial,acme-industrial.com,\n"
                     ",,nobody@example.org\n", encoding="utf-8")
    archive = Archive(load_settings(sample.data_dir))
    try:
        preview = import_customers(archive, read_customer_sheet(sheet), dry_run=True)
        assert preview.relinked is None
        assert [p.action for p in preview.plan.rows] == ["create", "unchanged", "skip"]
        assert "Harbourline" not in {c.name for c in list_customers(archive).customers}
        done = import_customers(archive, read_customer_sheet(sheet))
        assert [p.action for p in done.plan.rows] == ["create", "unchanged", "skip"] and done.relinked == 1
        assert customer_dossier(archive, "Harbourline").messages == 1
    finally:
        archive.close()
