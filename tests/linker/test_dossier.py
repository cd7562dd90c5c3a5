"""The customer dossier: contacts, totals, quotes sent, open threads, reply time; dormant and waiting lists."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from linker import Directory, MessageFact, build_dossier, load_freemail
from tests.conftest import Dossier, make_message

from .conftest import OWN, write_mail

D = Directory(by_email={}, by_domain={"acme.com": frozenset({1})}, own_domains=frozenset({OWN}),
              freemail=load_freemail())
NOW = datetime(2024, 6, 30, 12, 0)


def fact(i: int, day: int, hour: int, sender: str, subject: str = "s", thread: str = "t1",
         quote: tuple[str, tuple[str, ...]] | None = None, to: str = f"anna@{OWN}") -> MessageFact:
    outgoing = sender.endswith(OWN)
    term, files = quote or (None, ())
    return MessageFact(id=i, short_id=f"id{i}", date=datetime(2024, 6, day, hour), subject=subject,
                       from_email=sender, is_outgoing=outgoing, thread=thread, people=(("", sender), ("", to)),
                       quote_term=term, quote_files=files)


def test_totals_contacts_quotes_open_threads_and_reply_time() -> None:
    facts = [
        fact(1, 1, 9, "li@acme.com", "Inquiry"),                                  # in
        fact(2, 1, 13, f"anna@{OWN}", "Re: Inquiry", quote=("quotation", ("Quotation_ACME.pdf",)),
             to="li@acme.com"),  # 4 h
        fact(3, 2, 9, "li@mail.acme.com", "Re: Re: Inquiry"),                     # in
        fact(4, 2, 10, "li@acme.com", "one more thing"),                          # in, same run
        fact(5, 3, 9, f"tom@{OWN}", "报价单 valves", quote=("报价单", ()), to="li@acme.com"),  # 24 h after 3
        fact(6, 20, 12, "bob@acme.com", "Where is my order?", thread="t2"),       # open
        fact(7, 5, 9, f"anna@{OWN}", "PI-2024-001", thread="t3", quote=("PI", ()), to="li@acme.com"),
        fact(8, 6, 9, "someone@gmail.com", "unrelated person cc'd", thread="t3", to="li@acme.com"),
    ]
    d = build_dossier(facts, emails=["wang@163.com"], domains=["acme.com"], directory=D, now=NOW)
    assert (d.messages, d.messages_in, d.messages_out) == (8, 5, 3)
    assert (d.first_contact, d.last_contact) == (datetime(2024, 6, 1, 9), datetime(2024, 6, 20, 12))
    assert [(c.email, c.messages, c.last_id) for c in d.contacts] == [
        ("bob@acme.com", 1, "id6"), ("li@acme.com", 6, "id8"), ("li@mail.acme.com", 1, "id3"),
        ("wang@163.com", 0, ""),
    ]
    assert [(q.id, q.term, q.files) for q in d.quotes] == [
        ("id7", "PI", ()), ("id5", "报价单", ()), ("id2", "quotation", ("Quotation_ACME.pdf",)),
    ]
    assert [(t.id, t.waiting) for t in d.open_threads] == [
        ("id8", NOW - datetime(2024, 6, 6, 9)), ("id6", timedelta(days=10)),
    ]
    assert d.median_reply == timedelta(hours=14)  # median of 4 h and 24 h


def test_a_customer_without_mail_has_an_empty_dossier() -> None:
    d = build_dossier([], emails=[], domains=["acme.com"], directory=D, now=NOW)
    assert (d.messages, d.first_contact, d.median_reply, d.open_threads) == (0, None, None, ())


@pytest.fixture
def history(team: Dossier, tmp_path: Path) -> Dossier:
    box = tmp_path / "mail"

    def mail(name: str, when: datetime, sender: str, to: str, subject: str, *headers: str, **kw) -> None:
        write_mail(box, name, make_message(subject=subject, message_id=f"<{name}@x>", sender=sender, to=to,
                                           date=when.replace(tzinfo=timezone.utc), **kw), *headers)

    mail("a1", datetime(2023, 1, 2, 9), "Li Wei <li@acme.com>", f"anna@{OWN}", "RFQ valves")
    mail("a2", datetime(2023, 1, 2, 15), f"anna@{OWN}", "li@acme.com", "Re: RFQ valves",
         "In-Reply-To: <a1@x>", "References: <a1@x>",
         attachments=(("报价单-2023.xlsx", b"x", "application/octet-stream"),))
    mail("a3", datetime(2023, 2, 1, 9), "Li Wei <li@acme.com>", f"anna@{OWN}", "Re: Re: RFQ valves",
         "In-Reply-To: <a2@x>", "References: <a1@x> <a2@x>")
    mail("b1", datetime(2024, 1, 1, 9), "Pat <pat@bristol.co.uk>", f"tom@{OWN}", "Hello")
    mail("b2", datetime(2024, 1, 1, 11), f"tom@{OWN}", "pat@bristol.co.uk", "Re: Hello",
         "In-Reply-To: <b1@x>", "References: <b1@x>")
    team.run("customers", "add", "Acme", "--domain", "acme.com")
    team.run("customers", "add", "Bristol", "--domain", "bristol.co.uk")
    team.run("customers", "add", "Silent", "--domain", "silent.com")
    team.json("import", box)
    return team


def test_show_json_is_the_dossier(history: Dossier) -> None:
    d = history.json("customers", "show", "Acme")
    assert (d["messages"], d["messages_in"], d["messages_out"]) == (3, 2, 1)
    assert d["contacts"][0]["email"] == "li@acme.com" and d["contacts"][0]["name"] == "Li Wei"
    assert d["contacts"][0]["last_subject"] == "Re: Re: RFQ valves"
    assert [(q["subject"], q["files"]) for q in d["quotes"]] == [("Re: RFQ valves", ["报价单-2023.xlsx"])]
    assert [t["subject"] for t in d["open_threads"]] == ["Re: Re: RFQ valves"]
    assert d["open_threads"][0]["waiting_days"] > 365
    assert d["median_reply_hours"] == 6.0


def test_show_text_has_the_sections(history: Dossier) -> None:
    out = history.run("customers", "show", "acme").output
    for text in ("3 (2 in, 1 out)", "Median reply: 6.0 hours", "Li Wei <li@acme.com>",
                 "Waiting for our answer:", "Quotes sent:", "报价单-2023.xlsx"):
        assert text in out


def test_list_dormant_and_waiting(history: Dossier) -> None:
    assert [c["name"] for c in history.json("customers", "list", "--dormant", "90d")] == ["Acme", "Bristol"]
    assert [c["name"] for c in history.json("customers", "list", "--dormant", "100y")] == []
    waiting = history.json("customers", "list", "--waiting")
    assert [c["name"] for c in waiting] == ["Acme"] and waiting[0]["waiting_days"] > 365
    out = history.run("customers", "list", "--dormant", "soon", expect=2).output
    assert "not a duration" in out


def test_quotes_sent_are_what_reading_the_mail_found_titles_inside_attachments_included(team: Dossier, tmp_path):
    """The dossier and `dossier quotes` agree: a file titled as a quote inside counts, as when
    the message was read for the index; the dossier does not look for quotes again."""
    write_mail(tmp_path / "mail", "q.eml", make_message(
        subject="Documents for the valves", sender=f"anna@{OWN}", to="li@acme.com", message_id="<q@x>",
        attachments=(("Q8.txt", "PROFORMA INVOICE\nValves, total EUR 300".encode(), "text/plain"),
                     ("terms.txt", b"Delivery terms", "text/plain"))))
    team.run("customers", "add", "Acme", "--domain", "acme.com")
    team.json("import", tmp_path / "mail")
    quotes = team.json("customers", "show", "Acme")["quotes"]
    assert [(q["term"], q["files"]) for q in quotes] == [("pro forma invoice", ["Q8.txt"])]
    listed = team.json("quotes", "--customer", "Acme")
    assert [(r["files"], r["amounts"]) for r in listed] == [(["Q8.txt"], ["EUR 300"])]
