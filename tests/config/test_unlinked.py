"""Finding customers nobody entered: `dossier unlinked` and `customers add-from-domain` on a real archive."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.config.linking import OWN, links_of, write_mail
from tests.conftest import Dossier, make_message


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
