"""Grouping the senders that link to no customer, and the names suggested for them."""

from __future__ import annotations

from datetime import datetime

from linker import Directory, load_freemail, summarize_unlinked

OWN = "northwind-trading.com"

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
