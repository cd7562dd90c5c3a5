"""The link rules: which customers a message participant belongs to, and why."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ingest.message import ROLES, Participant

from .domains import domain_suffixes, host_of, normalize_email

#: Link methods, strongest first: a user's pin, an exact contact address, a customer domain, and a
#: link inherited from the message a reply answers (weakest; only when nothing else matched).
METHODS = ("pin", "address", "domain", "thread")
#: Methods the rules decide per participant (the others come from overrides and threads).
PARTICIPANT_METHODS = ("address", "domain")
#: The role recorded for links that no participant made.
PIN_ROLE, THREAD_ROLE = "pin", "thread"


@dataclass(frozen=True)
class Directory:
    """A snapshot of who is who, built by the database layer; every key already normalised."""

    by_email: Mapping[str, frozenset[int]]
    by_domain: Mapping[str, frozenset[int]]
    own_domains: frozenset[str]
    own_addresses: frozenset[str] = frozenset()
    freemail: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LinkCandidate:
    """One reason to link a message to a customer: who (role) matched, how, and on what value."""

    customer_id: int
    role: str  # a participant role, or PIN_ROLE / THREAD_ROLE
    method: str  # one of METHODS
    matched: str  # the address or domain matched; the parent's Message-ID for "thread"


@dataclass(frozen=True)
class _Decision:
    """The outcome of the rules for one address; ``match`` and ``explain`` both read it."""

    verdict: str  # malformed | internal | address | freemail | domain | none
    value: str  # what the verdict is about: the address, or the domain that decided
    customers: tuple[int, ...] = ()
    detail: str = ""  # internal: why; domain: the host the address is on
    checked: tuple[str, ...] = field(default=())  # the domains tried (domain: the shorter ones left)


def is_internal(email: str, directory: Directory) -> bool:
    """Whether ``email`` is the team's own: an own address, or on an own domain or a subdomain of one.

    A malformed address is not internal. Never raises.
    """
    return _internal_reason(email, directory) is not None


def is_freemail(email: str, directory: Directory) -> bool:
    """Whether ``email`` is on a free-mail provider: its host, or a parent of it down to the
    registrable domain, is in the free-mail set (``vip.163.com``, ``mail.qq.com``). Never raises.
    """
    address = normalize_email(email)
    return _freemail_domain(host_of(address or email), directory) is not None


def match_participant(
    participant: Participant, directory: Directory, *, is_bulk: bool = False
) -> list[LinkCandidate]:
    """The customers ``participant`` links to, by customer id; empty when no rule applies.

    Rules in order: a malformed address or an internal one links nowhere; an exact contact
    address links to each customer that has it; a free-mail address, or any address on
    bulk mail (``is_bulk``), links no further; otherwise the longest of the host's domain
    suffixes that some customer configured links to every customer that configured it.
    Never raises.
    """
    decision = _decide(participant.address.email, directory)
    if decision.verdict not in PARTICIPANT_METHODS or (is_bulk and decision.verdict != "address"):
        return []
    return [
        LinkCandidate(customer_id=cid, role=participant.role, method=decision.verdict,
                      matched=decision.value)
        for cid in decision.customers
    ]


def match_customers(
    participants: Iterable[Participant], directory: Directory, *, is_bulk: bool = False
) -> list[LinkCandidate]:
    """Every link for a message's participants, one per (customer, role), strongest method kept.

    A domain that several customers claim links to all of them, unless an exact contact
    address on the same message belongs to some of them: then only those keep the domain
    link (the contact says which of the claimants the conversation is with).
    Ordered by role (as in ``ingest.message.ROLES``, unknown roles last) then customer id.
    Never raises.
    """
    found = [c for p in participants for c in match_participant(p, directory, is_bulk=is_bulk)]
    by_address = {c.customer_id for c in found if c.method == "address"}
    best: dict[tuple[int, str], LinkCandidate] = {}
    for candidate in found:
        if candidate.method == "domain" and candidate.customer_id not in by_address:
            claimants = directory.by_domain.get(candidate.matched, frozenset())
            if len(claimants) > 1 and claimants & by_address:
                continue
        key = (candidate.customer_id, candidate.role)
        held = best.get(key)
        if held is None or METHODS.index(candidate.method) < METHODS.index(held.method):
            best[key] = candidate
    return sorted(best.values(), key=_candidate_order)


def resolve_links(
    direct: Sequence[LinkCandidate],
    *,
    parent_links: Iterable[int] = (),
    parent_id: str = "",
    may_inherit: bool = True,
    pins: Iterable[int] = (),
    blocks: Iterable[int] = (),
) -> list[LinkCandidate]:
    """A message's final links from its participants' links, its thread and the user's overrides.

    Precedence: a pin or block beats every rule; the participants' links (``direct``) come
    next; only when they are empty and ``may_inherit`` (not bulk, not all-internal) does the
    message inherit ``parent_links``, the customers of the message it answers (``parent_id``
    is that message's Message-ID, recorded as the matched value). Never raises.
    """
    blocked = set(blocks)
    links = list(direct)
    if not links and may_inherit:
        links = [LinkCandidate(cid, THREAD_ROLE, "thread", parent_id) for cid in sorted(set(parent_links))]
    links = [c for c in links if c.customer_id not in blocked]
    links += [LinkCandidate(cid, PIN_ROLE, "pin", "pinned") for cid in sorted(set(pins) - blocked)]
    return sorted(links, key=_candidate_order)


def _candidate_order(c: LinkCandidate) -> tuple:
    return (_role_rank(c.role), c.role, c.customer_id)


def explain_participant(
    participant: Participant,
    directory: Directory,
    *,
    is_bulk: bool = False,
    names: Mapping[int, str] | None = None,
) -> str:
    """One human line saying which rule matched ``participant`` or why none did; customers are
    shown by ``names`` where given, else by id. Never raises."""
    d = _decide(participant.address.email, directory)
    _customers = functools.partial(_customer_list, names=names or {})
    if is_bulk and d.verdict == "domain":
        return (f"bulk mail links only by exact address; no contact has {normalize_email(participant.address.email)}"
                f" (the domain {d.value} would link {_customers(d.customers)})")
    if d.verdict == "malformed":
        return f"malformed address {d.value!r}: never links"
    if d.verdict == "internal":
        return f"internal ({d.detail}): never links"
    if d.verdict == "address":
        return f"address {d.value} -> {_customers(d.customers)}"
    if d.verdict == "freemail":
        return (f"free-mail domain {d.value}: links only by exact address; "
                "no contact has this address")
    if d.verdict == "domain":
        detail = _domain_detail(d.detail, d.value, d.checked, directory, names or {})
        return f"domain {d.value}{detail} -> {_customers(d.customers)}"
    return (f"no contact has this address and no customer has the domain "
            f"{' or '.join(d.checked)}")


def _decide(email: str, directory: Directory) -> _Decision:
    address = normalize_email(email)
    if address is None:
        return _Decision("malformed", email)
    internal = _internal_reason(address, directory)
    if internal is not None:
        return _Decision("internal", address, detail=internal)
    if customers := directory.by_email.get(address):
        return _Decision("address", address, tuple(sorted(customers)))
    host = host_of(address)
    free = _freemail_domain(host, directory)
    if free is not None:
        return _Decision("freemail", free)
    suffixes = domain_suffixes(host)
    for i, suffix in enumerate(suffixes):
        if customers := directory.by_domain.get(suffix):
            return _Decision("domain", suffix, tuple(sorted(customers)), detail=host,
                             checked=tuple(suffixes[i + 1:]))
    return _Decision("none", address, checked=tuple(suffixes))


def _domain_detail(host: str, matched: str, shorter: Sequence[str], directory: Directory,
                   names: Mapping[int, str]) -> str:
    """Where the domain came from, and which shorter claimed domain it beat."""
    notes = []
    if host != matched:
        notes.append(f"from {host}")
    # Say what a more specific domain overrode, so "why not customer A?" has an answer.
    for suffix in shorter:
        if others := directory.by_domain.get(suffix):
            notes.append(f"more specific than {suffix} -> {_customer_list(tuple(sorted(others)), names)}")
            break
    return f" ({'; '.join(notes)})" if notes else ""


def _internal_reason(email: str, directory: Directory) -> str | None:
    address = normalize_email(email)
    if address is None:
        return None
    if address in directory.own_addresses:
        return f"own address {address}"
    labels = host_of(address).split(".")
    for i in range(len(labels) - 1):
        parent = ".".join(labels[i:])
        if parent in directory.own_domains:
            return f"own domain {parent}"
    return None


def _freemail_domain(host: str, directory: Directory) -> str | None:
    if not host:
        return None
    for suffix in domain_suffixes(host):
        if suffix in directory.freemail:
            return suffix
    return None


def _customer_list(ids: tuple[int, ...], names: Mapping[int, str] | None = None) -> str:
    shown = [names[i] if names and i in names else str(i) for i in ids]
    if len(ids) == 1:
        return f"customer {shown[0]}"
    return "customers " + ", ".join(shown)



def _role_rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else len(ROLES)
