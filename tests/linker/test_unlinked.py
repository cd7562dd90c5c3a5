"""Finding customers nobody entered (`dossier unlinked`, `customers add-from-domain`) and sheet
imports that update instead of duplicating."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from linker import Directory, load_freemail, summarize_unlinked
from tests.conftest import Dossier, make_message

from .conftest import OWN, links_of, write_mail

D = Directory(by_email={}, by_domain={}, own_domains=frozenset({OWN}), freemail=load_freemail())


def at(day: int) -> datetime:
    return datetime(2024, 5, day)


def test_groups_by_registrable_domain_and_free_mail_by_address() -> None:
    rows = [
        (1, at(1), "Li Wei | Haitong Trading", "li@mail.haitong.cn"),
        (1, at(1), "Anna", f"anna@{OWN}"),
        (2, at(3), "Chen (Haitong Trading)", "chen@haitong.cn"),
        (3, at(2), "Wang Fang", "wang@vip.163.com"),
        (4, at(4), "", "not an address"),
    ]
    groups = summarize_unlinked(rows, D)
    assert [(g.kind, g.value, g.messages) for g in groups] == [
        ("domain", "haitong.cn", 2), ("address", "wang@vip.163.com", 1)
    ]
    haitong = groups[0]
    assert (haitong.first, haitong.last) == (at(1), at(3))
    assert set(haitong.addresses) == {"li@mail.haitong.cn", "chen@haitong.cn"}
    assert haitong.suggested_name == "Haitong Trading"
    assert groups[1].suggested_name == "Wang Fang"


@pytest.fixture
def strangers(team: Dossier, tmp_path: Path) -> Dossier:
    box = tmp_path / "mail"
    for i, sender in enumerate(["Li Wei <li@haitong-nb.cn>", "Chen <chen@sales.haitong-nb.cn>",
                                "Wang <wang@163.com>", "Zhao <zhao@haitong-nb.cn>"]):
        write_mail(box, f"{i}.eml", make_message(subject=f"m{i}", message_id=f"<u{i}@x>", sender=sender,
                                                  to=f"anna@{OWN}",
                                                  date=datetime(2024, 1, 1 + i, tzinfo=timezone.utc)))
    write_mail(box, "n.eml", make_message(subject="news", message_id="<n@x>", sender="news@shop.com",
                                          to=f"anna@{OWN}"), "List-Unsubscribe: <mailto:x@shop.com>")
    team.json("import", box)
    return team


def test_unlinked_lists_most_mail_first_without_bulk(strangers: Dossier) -> None:
    rows = strangers.json("unlinked")
    assert [(r["value"], r["messages"]) for r in rows] == [("haitong-nb.cn", 3), ("wang@163.com", 1)]
    assert rows[0]["first"].startswith("2024-01-01") and rows[0]["last"].startswith("2024-01-04")
    assert rows[0]["suggested_name"] == "Haitong Nb"
    assert "shop.com" in {r["value"] for r in strangers.json("unlinked", "--include-bulk")}
    assert "haitong-nb.cn" in strangers.run("unlinked").output


def test_add_from_domain_creates_the_customer_and_links_its_history(strangers: Dossier) -> None:
    out = strangers.run("customers", "add-from-domain", "haitong-nb.cn").output
    assert "Added Haitong Nb (haitong-nb.cn); 3 messages re-linked" in out
    assert links_of(strangers)["u1@x"] == {("Haitong Nb", "domain")}
    assert [r["value"] for r in strangers.json("unlinked")] == ["wang@163.com"]


def test_add_from_domain_refuses_free_mail(strangers: Dossier) -> None:
    out = strangers.run("customers", "add-from-domain", "163.com", expect=1).output
    assert "free-mail provider" in out


def test_import_updates_by_name_or_domain_and_reports(team: Dossier, tmp_path: Path) -> None:
    team.run("customers", "add", "Ningbo Haitong", "--domain", "haitong-nb.cn")
    team.run("customers", "add", "Acme", "--domain", "acme.com")
    sheet = tmp_path / "c.csv"
    sheet.write_text(
        "name,domains,emails,country\n"
        "宁波海通,haitong-nb.cn,wang@163.com,CN\n"   # same domain, other name: update
        "Acme,acme.com,,\n"                          # nothing new
        "Bristol,bristol.co.uk,,UK\n"               # new
        ",x.com,,\n",                                # no name: skipped
        encoding="utf-8",
    )
    result = team.run("customers", "import", sheet, expect=1)
    assert "1 customers added, 1 updated, 1 unchanged, 1 rows skipped" in result.output
    assert "updated Ningbo Haitong" in result.output and "created Bristol" in result.output
    customers = {c["name"]: c for c in team.json("customers", "list")}
    assert set(customers) == {"Ningbo Haitong", "Acme", "Bristol"}
    assert customers["Ningbo Haitong"]["emails"] == ["wang@163.com"]
    assert customers["Ningbo Haitong"]["country"] == "CN"
