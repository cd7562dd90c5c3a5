"""Issue 18 through the CLI, on every engine: nothing a message holds is unsearchable: HTML
alternatives, bounce and abuse reports, messages the parser cannot finish."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import ENGINES, Dossier, make_message
from tests.ingest.recall_mail import abuse_report, alternative, bounce, huge_to, related_in_alternative_in_mixed

pytestmark = pytest.mark.parametrize("engine", ENGINES)

HTML = ("<html><body><p>Dear Bob, please see the offer below.</p>"
        "<table><tr><td>Marigold pump</td><td>USD 1,200</td></tr></table><p>报价有效期三十天</p></body></html>")


def deep_nesting(depth: int = 1200) -> bytes:
    return (b"From: Anna <anna@acme-industrial.com>\nTo: bob@northwind-trading.com\nSubject: deep\n"
            b"Message-ID: <deep@acme-industrial.com>\nMIME-Version: 1.0\n"
            + b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(depth))
            + b"Content-Type: text/plain\n\nthe periwinkle valves ship Friday\n"
            + b"".join(b"--b%d--\n" % i for i in reversed(range(depth))))


@pytest.fixture
def archive(dossier: Dossier, tmp_path: Path) -> Dossier:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes(alternative("Offer", "Dear Bob, please see the offer below.", HTML, "<a1@acme>"))
    (folder / "2.eml").write_bytes(related_in_alternative_in_mixed("Offer 2", "See the HTML version.",
                                                                   HTML.replace("Marigold", "Larkspur"), "<a2@acme>"))
    (folder / "3.eml").write_bytes(bounce())
    (folder / "4.eml").write_bytes(abuse_report())
    (folder / "5.eml").write_bytes(huge_to())
    (folder / "6.eml").write_bytes(deep_nesting())
    report = dossier.json("import", folder)
    assert (report["stored"], report["failed"], report["partial"]) == (6, 0, 1)
    return dossier


def ids(d: Dossier, query: str) -> set[str]:
    return {hit["message_id"] for hit in d.json("search", query, "--limit", "100")}


def test_words_only_in_html_alternatives_are_found(archive: Dossier):
    assert ids(archive, "marigold") == {"a1@acme"}
    assert ids(archive, "larkspur") == {"a2@acme"}
    assert ids(archive, "有效期") == {"a1@acme", "a2@acme"}
    # The HTML that only repeats the plain part does not make the message count twice.
    hit = archive.json("search", '"see the offer"')[0]
    assert hit["snippet"].count("**see** **the** **offer**") == 1


def test_show_html_prints_the_html_version(archive: Dossier):
    shown = archive.run("show", "<a1@acme>", "--html").stdout
    assert "Marigold pump USD 1,200" in shown
    plain = archive.run("show", "<a1@acme>").stdout
    assert "Marigold" not in plain
    result = archive.run("show", "<dsn1@mx.example.com>", "--html")
    assert "has no HTML version" in result.stderr


def test_bounce_and_abuse_reports_are_found_by_what_their_report_parts_say(archive: Dossier):
    assert ids(archive, "buyer@acme-gone.example") == {"dsn1@mx.example.com"}
    assert ids(archive, "zorblatt") == {"dsn1@mx.example.com"}
    assert ids(archive, "quillwort") == {"dsn1@mx.example.com"}
    assert ids(archive, "spamhausen") == {"arf1@isp.example"}
    assert ids(archive, "xylander") == {"arf1@isp.example"}


def test_a_100000_address_to_loses_neither_the_message_nor_its_body(archive: Dossier):
    assert ids(archive, "hollyhock pumps") == {"huge-to@northwind-trading.com"}
    shown = archive.run("show", "<huge-to@northwind-trading.com>").stdout
    assert "user0@example0.com" in shown and "Our spring price list" in shown
    status = archive.json("status")
    assert status["failed"] == 0


def test_a_message_read_partially_is_findable_and_reported(archive: Dossier):
    assert ids(archive, "periwinkle") == {"deep@acme-industrial.com"}
    status = archive.json("status")
    assert status["partial"] == 1
    text = archive.run("status").stdout
    assert "1 read partially" in text and "partial " in text
    check = archive.json("check")
    assert check["clean"] and check["read_partially"] == 1
    assert "read partially: MIME nesting deeper" in archive.run("show", "<deep@acme-industrial.com>").stdout


@pytest.fixture
def word_forms(dossier: Dossier, tmp_path: Path) -> Dossier:
    folder = tmp_path / "forms"
    folder.mkdir()
    mails = {
        "exact": ("Payment due", "Please find the invoice attached, and the offer.", 1),
        "plural": ("Payment due", "Please find the invoices attached, and the quotations.", 2),
        "list": ("Price list", "Our price list for 2025.", 3),
        "lists": ("Catalogue", "Both price lists are attached.", 4),
        "zh": ("报价单", "请查收报价单。", 5),
    }
    for name, (subject, body, day) in mails.items():
        (folder / f"{name}.eml").write_bytes(make_message(
            subject=subject, body=body, message_id=f"<{name}@forms>", date=datetime(2025, 3, day, tzinfo=timezone.utc)))
    dossier.json("import", folder)
    return dossier


def test_a_word_finds_its_other_english_forms_exact_ones_first(word_forms: Dossier):
    assert ids(word_forms, "invoice") == {"exact@forms", "plural@forms"}
    assert ids(word_forms, "invoices") == {"exact@forms", "plural@forms"}
    assert ids(word_forms, "quotation") == {"plural@forms"}
    ranked = [h["message_id"] for h in word_forms.json("search", "invoices", "--sort", "relevance")]
    assert ranked == ["plural@forms", "exact@forms"]
    ranked = [h["message_id"] for h in word_forms.json("search", "invoice", "--sort", "relevance")]
    assert ranked == ["exact@forms", "plural@forms"]
    hit = word_forms.json("search", "invoice", "--from", "alice@example.org", "--since", "2025-03-02")[0]
    assert "**invoices**" in hit["snippet"]


def test_phrases_prefixes_and_chinese_stay_exact(word_forms: Dossier):
    assert ids(word_forms, '"price lists"') == {"lists@forms"}
    assert ids(word_forms, '"price list"') == {"list@forms"}
    assert ids(word_forms, "invoices*") == {"plural@forms"}
    assert ids(word_forms, "报价单") == {"zh@forms"}


@pytest.fixture
def ranked(team: Dossier, tmp_path: Path) -> Dossier:
    folder = tmp_path / "ranked"
    folder.mkdir()
    team.run("customers", "add", "Acme Industrial", "--domain", "acme-industrial.com")

    def mail(name: str, sender: str, body: str, day: int, *extra: bytes) -> None:
        raw = make_message(subject="Spring update", sender=sender, body=body, message_id=f"<{name}@rank>",
                           date=datetime(2025, 3, day, tzinfo=timezone.utc))
        (folder / f"{name}.eml").write_bytes(b"".join(extra) + raw)

    # Each pair is imported in the order the ranking must undo (equal scores keep the engine's order).
    mail("a-newsletter", "News <news@lists.example>", "The marsh valve catalogue is out.", 20,
         b"List-Unsubscribe: <mailto:unsubscribe@lists.example>\n")
    mail("b-customer", "Buyer <buyer@acme-industrial.com>", "The marsh valve catalogue is out.", 10)
    mail("c-older", "Buyer <buyer@acme-industrial.com>", "Need the heron pump drawing.", 2)
    mail("d-newer", "Buyer <buyer@acme-industrial.com>", "Need the heron pump drawing.", 3)
    mail("quoting", "Buyer <buyer@acme-industrial.com>", "Thanks.\n\nOn Monday, Anna wrote:\n> egret flange", 12)
    mail("saying", "Buyer <buyer@acme-industrial.com>", "The egret flange is late.", 11)
    team.json("import", folder)
    return team


def relevance(d: Dossier, query: str) -> list[str]:
    return [hit["message_id"].split("@")[0] for hit in d.json("search", query, "--sort", "relevance")]


def test_relevance_puts_a_customers_own_mail_over_bulk_new_text_over_quoted_and_newer_first(ranked: Dossier):
    assert relevance(ranked, "marsh valve catalogue") == ["b-customer", "a-newsletter"]
    assert relevance(ranked, "heron pump drawing") == ["d-newer", "c-older"]
    assert relevance(ranked, "egret flange") == ["saying", "quoting"]
