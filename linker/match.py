"""The link rules: which customers a message participant belongs to, and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ingest.message import ROLES, Participant

from .domains import domain_suffixes, host_of, normalize_email

#: Link methods, strongest first.
METHODS = ("address", "domain")


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
    role: str
    method: str  # "address" | "domain"
    matched: str


@dataclass(frozen=True)
class _Decision:
    """The outcome of the rules for one address; ``match`` and ``explain`` both read it."""

    verdict: str  # malformed | internal | address | freemail | domain | none
    value: str  # what the verdict is about: the address, or the domain that decided
    customers: tuple[int, ...] = ()
    detail: str = ""
    checked: tuple[str, ...] = field(default=())


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


def match_participant(participant: Participant, directory: Directory) -> list[LinkCandidate]:
    """The customers ``participant`` links to, by customer id; empty when no rule applies.

    Rules in order: a malformed address or an internal one links nowhere; an exact contact
    address links to each customer that has it; a free-mail address links no further;
    otherwise the longest of the host's domain suffixes that some customer configured
    links to every customer that configured it. Never raises.
    """
    decision = _decide(participant.address.email, directory)
    if decision.verdict not in METHODS:
        return []
    return [
        LinkCandidate(customer_id=cid, role=participant.role, method=decision.verdict,
                      matched=decision.value)
        for cid in decision.customers
    ]


def match_customers(participants: Iterable[Participant], directory: Directory) -> list[LinkCandidate]:
    """Every link for a message's participants, one per (customer, role), strongest method kept.

    Ordered by role (as in ``ingest.message.ROLES``, unknown roles last) then customer id.
    Never raises.
    """
    best: dict[tuple[int, str], LinkCandidate] = {}
    for participant in participants:
        for candidate in match_participant(participant, directory):
            key = (candidate.customer_id, candidate.role)
            held = best.get(key)
            if held is None or METHODS.index(candidate.method) < METHODS.index(held.method):
                best[key] = candidate
    return sorted(best.values(), key=lambda c: (_role_rank(c.role), c.role, c.customer_id))


def explain_participant(participant: Participant, directory: Directory) -> str:
    """One human line saying which rule matched ``participant`` or why none did. Never raises."""
    d = _decide(participant.address.email, directory)
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
        return f"domain {d.value}{d.detail} -> {_customers(d.customers)}"
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
            return _Decision("domain", suffix, tuple(sorted(customers)),
                             detail=_domain_detail(host, suffix, suffixes[i + 1:], directory))
    return _Decision("none", address, checked=tuple(suffixes))


def _domain_detail(host: str, matched: str, shorter: list[str], directory: Directory) -> str:
    notes = []
    if host != matched:
        notes.append(f"from {host}")
    # Say what a more specific domain overrode, so "why not customer A?" has an answer.
    for suffix in shorter:
        if others := directory.by_domain.get(suffix):
            notes.append(f"more specific than {suffix} -> {_customers(tuple(sorted(others)))}")
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


def _customers(ids: tuple[int, ...]) -> str:
    if len(ids) == 1:
        return f"customer {ids[0]}"
    return "customers " + ", ".join(str(i) for i in ids)


def _role_rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else len(ROLES)
