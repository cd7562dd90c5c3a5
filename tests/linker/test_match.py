"""Tests for the link rules: address, domain, free-mail and internal participants."""

from __future__ import annotations

import pytest

from ingest.message import Address, Participant
from linker.domains import load_freemail
from linker.match import (
    Directory,
    LinkCandidate,
    explain_participant,
    is_freemail,
    is_internal,
    match_customers,
    match_participant,
)

ACME, ACME_SALES, HAITONG, TAIPEI, SHARED_A, SHARED_B, WANG = 1, 2, 3, 4, 5, 6, 7


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory(
        by_email={
            "wang.lei@163.com": frozenset({WANG}),
            "buyer@acme.com": frozenset({ACME_SALES}),
            "boss@northwind.com": frozenset({ACME}),
        },
        by_domain={
            "acme.com": frozenset({ACME}),
            "sales.acme.com": frozenset({ACME_SALES}),
            "haitong-nb.cn": frozenset({HAITONG}),
            "taipei-precision.com.tw": frozenset({TAIPEI}),
            "jointventure.de": frozenset({SHARED_A, SHARED_B}),
            "gmail.com": frozenset({ACME}),  # misconfigured: a free-mail domain never links
        },
        own_domains=frozenset({"northwind.com"}),
        own_addresses=frozenset({"me.northwind@gmail.com"}),
        freemail=load_freemail(),
    )


def person(email: str, role: str = "from") -> Participant:
    return Participant(role, Address("", email))


def links(email: str, directory: Directory, role: str = "from") -> list[tuple[int, str, str]]:
    return [(c.customer_id, c.method, c.matched) for c in match_participant(person(email, role), directory)]


def test_domain_links_registrable_domain_from_a_subdomain(directory: Directory) -> None:
    assert links("li@mail.acme.com", directory) == [(ACME, "domain", "acme.com")]
    assert links("chen@sales.haitong-nb.cn", directory) == [(HAITONG, "domain", "haitong-nb.cn")]
    assert links("lin@x.taipei-precision.com.tw", directory) == [
        (TAIPEI, "domain", "taipei-precision.com.tw")
    ]


def test_longest_configured_domain_wins(directory: Directory) -> None:
    assert links("amy@sales.acme.com", directory) == [(ACME_SALES, "domain", "sales.acme.com")]
    assert links("amy@eu.sales.acme.com", directory) == [(ACME_SALES, "domain", "sales.acme.com")]
    assert links("amy@support.acme.com", directory) == [(ACME, "domain", "acme.com")]


def test_exact_address_beats_domain(directory: Directory) -> None:
    assert links("Buyer@ACME.com", directory) == [(ACME_SALES, "address", "buyer@acme.com")]


def test_domain_shared_by_two_customers_links_both(directory: Directory) -> None:
    assert links("hans@jointventure.de", directory) == [
        (SHARED_A, "domain", "jointventure.de"),
        (SHARED_B, "domain", "jointventure.de"),
    ]


def test_exact_address_on_free_mail_links(directory: Directory) -> None:
    assert links("wang.lei@163.com", directory) == [(WANG, "address", "wang.lei@163.com")]


@pytest.mark.parametrize("email", ["someone@163.com", "x@vip.163.com", "x@mail.qq.com", "x@gmail.com"])
def test_free_mail_never_links_by_domain(directory: Directory, email: str) -> None:
    assert links(email, directory) == []


def test_is_freemail_by_full_host_and_registrable_domain(directory: Directory) -> None:
    assert is_freemail("a@vip.163.com", directory)  # listed itself
    assert is_freemail("a@mail.qq.com", directory)  # through qq.com
    assert is_freemail("a@QQ.com", directory)
    assert not is_freemail("a@acme.com", directory)
    only_vip = Directory(by_email={}, by_domain={}, own_domains=frozenset(),
                         freemail=frozenset({"vip.163.com"}))
    assert is_freemail("a@vip.163.com", only_vip)
    assert is_freemail("a@x.vip.163.com", only_vip)
    assert not is_freemail("a@163.com", only_vip)


def test_internal_own_domain_subdomain_and_own_address(directory: Directory) -> None:
    assert is_internal("me@northwind.com", directory)
    assert is_internal("me@cn.Northwind.com", directory)
    assert is_internal("me.northwind@gmail.com", directory)
    assert not is_internal("me@northwind.com.cn", directory)
    assert not is_internal("me@notnorthwind.com", directory)
    assert not is_internal("not an address", directory)


def test_internal_never_links_even_when_listed_as_contact(directory: Directory) -> None:
    assert links("boss@northwind.com", directory) == []
    assert links("me.northwind@gmail.com", directory) == []


@pytest.mark.parametrize("email", ["", "foo@", "no-at-sign", "a b@acme.com", "x@acme"])
def test_malformed_addresses_are_dropped(directory: Directory, email: str) -> None:
    assert links(email, directory) == []


def test_unknown_domain_links_nowhere(directory: Directory) -> None:
    assert links("x@unknown.example", directory) == []


def test_match_customers_deduplicates_keeping_the_strongest_method(directory: Directory) -> None:
    participants = [
        person("amy@sales.acme.com", "cc"),  # domain -> ACME_SALES
        person("buyer@acme.com", "cc"),  # address -> ACME_SALES, wins
        person("li@acme.com", "to"),
        person("bob@acme.com", "to"),  # same customer and role again
        person("chen@haitong-nb.cn", "from"),
        person("me@northwind.com", "from"),
    ]
    assert match_customers(participants, directory) == [
        LinkCandidate(HAITONG, "from", "domain", "haitong-nb.cn"),
        LinkCandidate(ACME, "to", "domain", "acme.com"),
        LinkCandidate(ACME_SALES, "cc", "address", "buyer@acme.com"),
    ]


def test_match_customers_orders_by_role_then_customer(directory: Directory) -> None:
    participants = [
        person("hans@jointventure.de", "bcc"),
        person("li@acme.com", "reply_to"),
        person("x@taipei-precision.com.tw", "to"),
        person("chen@haitong-nb.cn", "to"),
    ]
    got = [(c.role, c.customer_id) for c in match_customers(participants, directory)]
    assert got == [("reply_to", ACME), ("to", HAITONG), ("to", TAIPEI), ("bcc", SHARED_A), ("bcc", SHARED_B)]
    assert match_customers(list(reversed(participants)), directory) == match_customers(participants, directory)


def test_match_customers_with_no_participants(directory: Directory) -> None:
    assert match_customers([], directory) == []


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("me@northwind.com", "internal (own domain northwind.com): never links"),
        ("me@cn.northwind.com", "internal (own domain northwind.com): never links"),
        ("me.northwind@gmail.com", "internal (own address me.northwind@gmail.com): never links"),
        ("buyer@acme.com", "address buyer@acme.com -> customer 2"),
        ("wang.lei@163.com", "address wang.lei@163.com -> customer 7"),
        ("someone@qq.com",
         "free-mail domain qq.com: links only by exact address; no contact has this address"),
        ("someone@vip.163.com",
         "free-mail domain vip.163.com: links only by exact address; no contact has this address"),
        ("li@acme.com", "domain acme.com -> customer 1"),
        ("li@mail.acme.com", "domain acme.com (from mail.acme.com) -> customer 1"),
        ("amy@sales.acme.com",
         "domain sales.acme.com (more specific than acme.com -> customer 1) -> customer 2"),
        ("hans@jointventure.de", "domain jointventure.de -> customers 5, 6"),
        ("x@mail.unknown.example",
         "no contact has this address and no customer has the domain mail.unknown.example"
         " or unknown.example"),
        ("foo@", "malformed address 'foo@': never links"),
    ],
)
def test_explain_names_the_rule(directory: Directory, email: str, expected: str) -> None:
    assert explain_participant(person(email), directory) == expected
