"""Link rules beyond one participant: bulk mail, shared domains, threads, pins and blocks, explain."""

from __future__ import annotations

from ingest.message import Address, Participant
from linker.domains import load_freemail
from linker.match import Directory, LinkCandidate, explain_participant, match_customers, resolve_links

ACME, GROUP_A, GROUP_B, OTHER = 1, 2, 3, 4

DIRECTORY = Directory(
    by_email={"anna@group.de": frozenset({GROUP_A}), "wang@163.com": frozenset({OTHER})},
    by_domain={"acme.com": frozenset({ACME}), "group.de": frozenset({GROUP_A, GROUP_B})},
    own_domains=frozenset({"northwind.com"}),
    freemail=load_freemail(),
)


def p(email: str, role: str = "from") -> Participant:
    return Participant(role, Address("", email))


def summary(links: list[LinkCandidate]) -> list[tuple[int, str, str]]:
    return [(c.customer_id, c.role, c.method) for c in links]


def test_every_role_counts_and_each_keeps_its_role() -> None:
    people = [p("x@acme.com", role) for role in ("from", "sender", "reply_to", "to", "cc", "bcc")]
    assert [c.role for c in match_customers(people, DIRECTORY)] == ["from", "sender", "reply_to", "to", "cc", "bcc"]


def test_bulk_mail_links_by_exact_address_only() -> None:
    people = [p("news@acme.com"), p("wang@163.com", "to")]
    assert summary(match_customers(people, DIRECTORY, is_bulk=True)) == [(OTHER, "to", "address")]
    assert summary(match_customers(people, DIRECTORY)) == [(ACME, "from", "domain"), (OTHER, "to", "address")]


def test_explain_says_why_bulk_mail_did_not_link_by_domain() -> None:
    line = explain_participant(p("news@acme.com"), DIRECTORY, is_bulk=True, names={ACME: "Acme"})
    assert "bulk mail links only by exact address" in line and "customer Acme" in line


def test_explain_uses_customer_names() -> None:
    assert explain_participant(p("x@group.de"), DIRECTORY, names={GROUP_A: "A GmbH", GROUP_B: "B AG"}) == (
        "domain group.de -> customers A GmbH, B AG"
    )


def test_shared_domain_links_every_claimant() -> None:
    assert summary(match_customers([p("hans@group.de")], DIRECTORY)) == [
        (GROUP_A, "from", "domain"), (GROUP_B, "from", "domain")
    ]


def test_contact_address_disambiguates_a_shared_domain() -> None:
    people = [p("hans@group.de"), p("anna@group.de", "cc")]
    assert summary(match_customers(people, DIRECTORY)) == [(GROUP_A, "from", "domain"), (GROUP_A, "cc", "address")]


def test_reply_without_matches_inherits_the_parents_links_as_thread() -> None:
    links = resolve_links([], parent_links=[ACME, OTHER], parent_id="m1@x")
    assert [(c.customer_id, c.method, c.matched) for c in links] == [
        (ACME, "thread", "m1@x"), (OTHER, "thread", "m1@x")
    ]


def test_thread_is_weaker_than_any_participant_link() -> None:
    direct = match_customers([p("x@acme.com")], DIRECTORY)
    assert summary(resolve_links(direct, parent_links=[OTHER], parent_id="m1@x")) == [(ACME, "from", "domain")]


def test_bulk_or_internal_replies_do_not_inherit() -> None:
    assert resolve_links([], parent_links=[ACME], parent_id="m1@x", may_inherit=False) == []


def test_pin_and_block_beat_every_rule() -> None:
    direct = match_customers([p("x@acme.com"), p("wang@163.com", "to")], DIRECTORY)
    links = resolve_links(direct, pins=[GROUP_B], blocks=[ACME])
    assert summary(links) == [(OTHER, "to", "address"), (GROUP_B, "pin", "pin")]


def test_block_also_removes_an_inherited_link() -> None:
    assert resolve_links([], parent_links=[ACME], parent_id="m1@x", blocks=[ACME]) == []


def test_explain_says_which_shorter_domain_a_subdomain_customer_beat() -> None:
    d = Directory(by_email={}, by_domain={"acme.com": frozenset({1}), "sales.acme.com": frozenset({2})},
                  own_domains=frozenset(), freemail=frozenset())
    line = explain_participant(p("amy@eu.sales.acme.com"), d, names={1: "Acme", 2: "Acme Sales"})
    assert line == ("domain sales.acme.com (from eu.sales.acme.com; more specific than acme.com -> customer Acme)"
                    " -> customer Acme Sales")
