"""Linking in a real archive: threads, bulk mail, shared domains, corrections, and customer changes
that re-link exactly the affected messages (checked against a full relink)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.config.linking import OWN, link_rows, links_of, write_mail
from tests.conftest import Dossier, make_message


def day(n: int) -> datetime:
    return datetime(2024, 3, n, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def archive(team: Dossier, tmp_path: Path) -> Dossier:
    box = tmp_path / "mail"
    write_mail(box, "1.eml", make_message(subject="Quotation valves", message_id="<m1@x>", date=day(1),
                                          sender="Li <li@mail.acme.com>", to=f"anna@{OWN}"))
    # A reply from a free-mail stranger: matches nothing itself, so it inherits m1's customers.
    write_mail(box, "2.eml", make_message(subject="Re: Quotation valves", message_id="<m2@x>", date=day(2),
                                          sender="li.private@gmail.com", to=f"anna@{OWN}"),
               "In-Reply-To: <m1@x>")
    # ... and a reply to that reply inherits too, down the thread.
    write_mail(box, "3.eml", make_message(subject="Re: Re: Quotation valves", message_id="<m3@x>", date=day(3),
                                          sender=f"anna@{OWN}", to="li.private@gmail.com"),
               "In-Reply-To: <m2@x>")
    write_mail(box, "4.eml", make_message(subject="Acme newsletter", message_id="<m4@x>", date=day(4),
                                          sender="news@acme.com", to=f"anna@{OWN}"),
               "List-Id: <news.acme.com>", "In-Reply-To: <m1@x>")
    write_mail(box, "5.eml", make_message(subject="Group order", message_id="<m5@x>", date=day(5),
                                          sender="hans@group.de", to=f"anna@{OWN}"))
    write_mail(box, "6.eml", make_message(subject="Group order by Eva", message_id="<m6@x>", date=day(6),
                                          sender="hans@group.de", to=f"anna@{OWN}", cc="eva@group.de"))
    write_mail(box, "7.eml", make_message(subject="internal", message_id="<m7@x>", date=day(7),
                                          sender=f"anna@{OWN}", to=f"tom@{OWN}"),
               "In-Reply-To: <m1@x>")
    write_mail(box, "8.eml", make_message(subject="From sales", message_id="<m8@x>", date=day(8),
                                          sender="amy@sales.acme.com", to=f"anna@{OWN}"))
    team.run("customers", "add", "Acme", "--domain", "acme.com")
    team.json("import", box)
    return team


def assert_equals_full_relink(d: Dossier) -> set:
    incremental = link_rows(d)
    d.run("relink")
    assert link_rows(d) == incremental
    return incremental


def test_subdomains_link_to_one_customer_and_replies_inherit(archive: Dossier) -> None:
    links = links_of(archive)
    assert links["m1@x"] == {("Acme", "domain")}
    assert links["m8@x"] == {("Acme", "domain")}
    assert links["m2@x"] == {("Acme", "thread")}
    assert links["m3@x"] == {("Acme", "thread")}
    assert "m4@x" not in links  # bulk: the domain does not count, and it does not inherit
    assert "m7@x" not in links  # all-internal: kept, marked internal, inherits nothing
    assert archive.json("status")["internal"] == 1
    assert_equals_full_relink(archive)


def test_reply_imported_before_the_message_it_answers_inherits_when_it_arrives(team: Dossier, tmp_path: Path):
    team.run("customers", "add", "Acme", "--domain", "acme.com")
    write_mail(tmp_path / "a", "2.eml", make_message(subject="Re: valves", message_id="<r@x>",
                                                     sender="x@gmail.com", body="thanks"),
               "In-Reply-To: <p@x>")
    team.json("import", tmp_path / "a")
    write_mail(tmp_path / "b", "1.eml", make_message(subject="P", message_id="<p@x>", sender="li@acme.com"))
    team.json("import", tmp_path / "b")
    assert links_of(team)["r@x"] == {("Acme", "thread")}
    assert [h["subject"] for h in team.json("search", "thanks", "--customer", "Acme")] == ["Re: valves"]
    assert team.json("status")["pending_index"] == 0
    assert_equals_full_relink(team)


def test_longest_configured_domain_wins_and_history_is_relinked(archive: Dossier) -> None:
    out = archive.run("customers", "add", "Acme Sales", "--domain", "sales.acme.com").output
    assert "1 messages re-linked" in out
    assert links_of(archive)["m8@x"] == {("Acme Sales", "domain")}
    assert links_of(archive)["m1@x"] == {("Acme", "domain")}
    assert_equals_full_relink(archive)


def test_shared_domain_links_both_is_listed_and_a_contact_disambiguates(archive: Dossier) -> None:
    archive.run("customers", "add", "Group North", "--domain", "group.de")
    archive.run("customers", "add", "Group South", "--domain", "group.de", "--email", "eva@group.de")
    links = links_of(archive)
    assert links["m5@x"] == {("Group North", "domain"), ("Group South", "domain")}
    assert links["m6@x"] == {("Group South", "domain"), ("Group South", "address")}
    conflicts = archive.json("customers", "conflicts")
    assert conflicts == [{"kind": "domain", "value": "group.de", "customers": ["Group North", "Group South"],
                          "messages": 1}]
    assert "group.de" in archive.run("customers", "conflicts").output
    assert_equals_full_relink(archive)


def test_explain_names_the_rule_for_each_participant(archive: Dossier) -> None:
    out = archive.run("link", "explain", "<m1@x>").output
    assert "li@mail.acme.com: domain acme.com (from mail.acme.com) -> customer Acme" in out
    assert f"anna@{OWN}: internal (own domain {OWN}): never links" in out
    out = archive.run("link", "explain", "<m2@x>").output
    assert "li.private@gmail.com: free-mail domain gmail.com" in out
    assert "inherited Acme (weaker link)" in out
    out = archive.run("link", "explain", "<m4@x>").output
    assert "bulk mail" in out and "Links:    none" in out


def test_pin_and_block_survive_relink_and_reindex(archive: Dossier) -> None:
    archive.run("customers", "add", "Other Co", "--domain", "other.com")
    archive.run("link", "pin", "<m5@x>", "Other Co")
    archive.run("link", "block", "<m1@x>", "Acme")
    links = links_of(archive)
    assert links["m5@x"] == {("Other Co", "pin")}
    assert "m1@x" not in links
    assert "m2@x" not in links  # the reply inherited Acme from m1; the block took that away too
    archive.run("relink")
    archive.run("reindex")
    assert links_of(archive)["m5@x"] == {("Other Co", "pin")}
    assert "m1@x" not in links_of(archive)
    assert [h["subject"] for h in archive.json("search", "", "--customer", "Other Co")] == ["Group order"]
    assert "Override: blocked from Acme" in archive.run("link", "explain", "<m1@x>").output
    archive.run("link", "clear", "<m1@x>", "Acme")
    assert links_of(archive)["m2@x"] == {("Acme", "thread")}
    assert_equals_full_relink(archive)


def test_pin_for_unknown_customer_is_one_line(archive: Dossier) -> None:
    out = archive.run("link", "pin", "<m1@x>", "Nobody", expect=1).output
    assert "no customer matches 'Nobody'" in out and "Traceback" not in out


def test_every_customer_change_equals_a_full_relink(archive: Dossier) -> None:
    steps = [
        ("customers", "add", "Acme Sales", "--domain", "sales.acme.com"),
        ("customers", "add", "Li Private", "--email", "li.private@gmail.com"),
        ("customers", "add", "Group North", "--domain", "group.de"),
        ("customers", "edit", "Acme", "--add-email", "news@acme.com"),
        ("customers", "edit", "Acme", "--remove-domain", "acme.com"),
        ("customers", "edit", "Acme", "--add-domain", "mail.acme.com"),
        ("link", "pin", "<m7@x>", "Group North"),
        ("customers", "merge", "Acme Sales", "Acme"),
        ("customers", "rename", "Acme", "Acme Holding"),
        ("customers", "remove", "Li Private"),
        ("customers", "merge", "Group North", "Acme Holding"),
        ("customers", "remove", "Acme Holding"),
    ]
    for step in steps:
        archive.run(*step)
        assert_equals_full_relink(archive)
    assert link_rows(archive) == set()


def test_merge_moves_history_and_search_follows(archive: Dossier) -> None:
    archive.run("customers", "add", "Acme Sales", "--domain", "sales.acme.com")
    archive.run("link", "pin", "<m5@x>", "Acme Sales")
    out = archive.run("customers", "merge", "Acme Sales", "Acme").output
    assert "Merged Acme Sales into Acme" in out
    assert [c["name"] for c in archive.json("customers", "list")] == ["Acme"]
    assert archive.json("customers", "show", "Acme")["domains"] == ["acme.com", "sales.acme.com"]
    subjects = {h["subject"] for h in archive.json("search", "", "--customer", "Acme")}
    assert {"From sales", "Group order", "Quotation valves"} <= subjects


def test_remove_unlinks_but_keeps_mail(archive: Dossier) -> None:
    before = archive.json("status")["messages"]
    archive.run("customers", "remove", "Acme")
    assert archive.json("status")["messages"] == before
    assert archive.json("customers", "list") == []
    assert link_rows(archive) == set()
    assert archive.json("search", "valves")  # still searchable


def test_rename_keeps_links(archive: Dossier) -> None:
    archive.run("customers", "rename", "Acme", "Acme Industrial")
    assert links_of(archive)["m1@x"] == {("Acme Industrial", "domain")}
    archive.run("customers", "add", "Other")
    out = archive.run("customers", "rename", "Other", "acme industrial", expect=1).output
    assert "already a customer" in out
