"""Customer changes as a stage on its own: saving, merging and removing customers, and re-linking
exactly what a change affects, checked against a full relink (in-memory SQLite, no config)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from linker import affected_messages, find_customer, merge_customers, relink, remove_customer, save_customer
from linker.records import Person, record_of

from .conftest import OWN, add_message, directory, links


def archive(session: Session) -> None:
    add_message(session, "m1", 1, ("from", "li@mail.acme.com"), ("to", f"anna@{OWN}"))
    add_message(session, "m2", 2, ("from", "li.private@gmail.com"), ("to", f"anna@{OWN}"), in_reply_to="m1")
    add_message(session, "m3", 3, ("from", "hans@group.de"), ("to", f"anna@{OWN}"))
    add_message(session, "m4", 4, ("from", "news@acme.com"), ("to", f"anna@{OWN}"), bulk=True)
    save_customer(session, "Acme", domains=["acme.com"], owner="tom@northwind-trading.com",
                  people=[Person("Li", "+86 1")])
    relink(session, directory(session))


def change_and_relink(session: Session, change) -> set:
    """Apply ``change``, re-link only the messages it affects (as the pipeline does), and check
    that a full relink gives the same links."""
    before = directory(session)
    extra = set(change() or ())
    after = directory(session)
    relink(session, after, affected_messages(session, before, after) | extra)
    incremental = links(session)
    relink(session, after)
    assert links(session) == incremental
    return incremental


def test_links_follow_domains_replies_and_bulk_rules(session: Session) -> None:
    archive(session)
    assert links(session) == {("m1", "Acme", "domain"), ("m2", "Acme", "thread")}


def test_adding_merging_and_removing_relink_exactly_what_changed(session: Session) -> None:
    archive(session)
    got = change_and_relink(session, lambda: save_customer(session, "Group", domains=["group.de"],
                                                           people=[Person("Hans", "")]) and None)
    assert ("m3", "Group", "domain") in got
    got = change_and_relink(session, lambda: save_customer(session, "Acme", emails=["news@acme.com"]) and None)
    assert ("m4", "Acme", "address") in got  # bulk mail links by exact address only

    def merge() -> set[int]:
        return merge_customers(session, find_customer(session, "Group"), find_customer(session, "Acme"))

    got = change_and_relink(session, merge)
    assert ("m3", "Acme", "domain") in got and not any(name == "Group" for _, name, _ in got)
    acme = record_of(find_customer(session, "Acme"))
    assert (acme.domains, acme.owner, acme.people) == (("acme.com", "group.de"), "tom@northwind-trading.com",
                                                       (Person("Li", "+86 1"), Person("Hans", "")))
    got = change_and_relink(session, lambda: remove_customer(session, find_customer(session, "Acme")))
    assert got == set()
