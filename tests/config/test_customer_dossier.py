"""The customer dossier through the CLI: `customers show` and the dormant and waiting lists."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.config.linking import OWN, write_mail
from tests.conftest import Dossier, make_message


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
