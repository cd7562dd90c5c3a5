"""The customer dossier: contacts, totals, quotes sent, open threads, reply time; dormant and waiting lists."""

from __future__ import annotations

from datetime import datetime, timedelta

from linker import Directory, MessageFact, build_dossier, load_freemail

OWN = "northwind-trading.com"

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
