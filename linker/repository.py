"""Customers and links in the database: saving customers, building the match directory, (re)linking.

Functions take a Session and never commit; the caller owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from ingest.message import Address, Participant
from ingest.models import Message, ParticipantRow

from .domains import normalize_domain, normalize_email
from .errors import LinkError
from .match import Directory, LinkCandidate, is_internal, match_customers, resolve_links
from .models import Contact, Customer, CustomerDomain, CustomerPerson, Link, LinkOverride
from .records import CustomerRecord, Person, merge_record, normalize_owner, record_of


class CustomerNotFoundError(LinkError):
    """No customer, or more than one, answers to the name given."""


def save_customer(
    session: Session,
    name: str,
    *,
    domains: Iterable[str] = (),
    emails: Iterable[str] = (),
    country: str = "",
    notes: str = "",
    fields: dict | None = None,
    owner: str = "",
    people: Iterable[Person] = (),
) -> tuple[Customer, bool]:
    """Create the customer ``name`` (the one of that name, ignoring case, when there is one) or add
    to it; return it and whether it is new.

    Domains, addresses and people are added (never removed); country, notes and owner are
    replaced where given; custom fields are updated (``records.merge_record`` is the rule).
    Raises LinkError for an empty name or a malformed domain or address.
    """
    name = " ".join(name.split())
    if not name:
        raise LinkError("a customer needs a name")
    where = f"customer {name!r}"
    domains = [_normalised(d, normalize_domain, "domain", where) for d in domains]
    emails = [_normalised(e, normalize_email, "e-mail address", where) for e in emails]
    customer = _customer_named(session, name)
    before = CustomerRecord(None, name) if customer is None else record_of(customer)
    after = merge_record(before, domains=domains, emails=emails, owner=normalize_owner(owner), people=people,
                         country=country, notes=notes, fields=fields)
    stored = store_record(session, after, customer)
    session.flush()
    return stored, customer is None


def store_record(session: Session, record: CustomerRecord, customer: Customer | None = None) -> Customer:
    """Make ``customer`` (a new one when None) hold ``record``: name, owner, country, notes and fields
    replaced; the domains, addresses and people it lacks added (none removed). Values must be
    normalised. Does not flush, so a caller writing many customers pays for one flush."""
    if customer is None:
        customer = Customer(name=record.name, country="", notes="", owner="", fields={},
                            created_at=datetime.now(timezone.utc).replace(tzinfo=None))
        session.add(customer)
        before = CustomerRecord(None, record.name)
    else:
        before = record_of(customer)
    customer.name, customer.country, customer.notes, customer.owner = (
        record.name, record.country, record.notes, record.owner)
    if record.fields != before.fields:
        customer.fields = dict(record.fields)
    customer.domains.extend(CustomerDomain(domain=d) for d in record.domains if d not in before.domains)
    customer.contacts.extend(Contact(email=e) for e in record.emails if e not in before.emails)
    have = set(before.people)
    customer.people.extend(CustomerPerson(name=p.name, phone=p.phone) for p in record.people if p not in have)
    return customer


def _normalised(raw: str, normalize, kind: str, where: str) -> str:
    value = normalize(raw)
    if value is None:
        raise LinkError(f"{where}: {raw!r} is not a valid {kind}")
    return value


def _customer_named(session: Session, name: str) -> Customer | None:
    """The customer called ``name``, ignoring case."""
    found = session.scalar(select(Customer).where(Customer.name == name)) or session.scalar(
        select(Customer).where(func.lower(Customer.name) == name.lower()).order_by(Customer.id).limit(1))
    if found is not None or not any(not c.isascii() and c.lower() != c.upper() for c in name):
        return found
    # SQLite's lower() folds only ASCII: "ÖKO" and "öko" are compared in Python. Only names with
    # cased non-ASCII letters get here (not Chinese ones), so an import of thousands stays linear.
    wanted = name.casefold()
    match = next((cid for cid, cname in session.execute(select(Customer.id, Customer.name))
                  if cname.casefold() == wanted), None)
    return None if match is None else session.get(Customer, match)


def find_customer(session: Session, name: str) -> Customer:
    """The customer called ``name`` (case-insensitive), else the only one whose name contains it.

    Raises CustomerNotFoundError naming the candidates when there are none or several.
    """
    wanted = " ".join(name.split()).lower()
    exact = session.scalar(select(Customer).where(func.lower(Customer.name) == wanted))
    if exact is not None:
        return exact
    # Substring match in Python: lower() in SQL does not fold non-ASCII on SQLite.
    names = session.execute(select(Customer.id, Customer.name)).all()
    hits = [(cid, cname) for cid, cname in names if wanted in cname.lower()]
    if len(hits) == 1:
        return session.get(Customer, hits[0][0])
    if not hits:
        raise CustomerNotFoundError(
            f"no customer matches {name!r}; see `dossier customers list` for the names"
        )
    listed = ", ".join(sorted(c for _, c in hits)[:5])
    raise CustomerNotFoundError(f"{name!r} matches several customers ({listed}); give the full name")


def load_directory(
    session: Session,
    *,
    own_domains: Iterable[str] = (),
    own_addresses: Iterable[str] = (),
    freemail: frozenset[str] = frozenset(),
) -> Directory:
    """A snapshot of every customer's domains and contacts, for matching."""
    by_email: dict[str, set[int]] = defaultdict(set)
    by_domain: dict[str, set[int]] = defaultdict(set)
    for customer_id, email in session.execute(select(Contact.customer_id, Contact.email)):
        by_email[email].add(customer_id)
    for customer_id, domain in session.execute(select(CustomerDomain.customer_id, CustomerDomain.domain)):
        by_domain[domain].add(customer_id)
    return Directory(
        by_email={k: frozenset(v) for k, v in by_email.items()},
        by_domain={k: frozenset(v) for k, v in by_domain.items()},
        own_domains=frozenset(d for d in (normalize_domain(x) for x in own_domains) if d),
        own_addresses=frozenset(a for a in (normalize_email(x) for x in own_addresses) if a),
        freemail=freemail,
    )


def link_message(
    session: Session,
    message: Message,
    participants: Sequence[Participant],
    directory: Directory,
    *,
    is_new: bool = False,
) -> list[LinkCandidate]:
    """Replace ``message``'s links with those the rules give; return them.

    The rules (``match.match_customers`` and ``match.resolve_links``) see the participants,
    whether the message is bulk, the links of the message it answers (already stored) and
    the user's pins and blocks. ``is_new`` says the message was just stored and has no
    links or overrides yet.
    """
    internal = bool(participants) and all(is_internal(p.address.email, directory) for p in participants)
    message.is_internal = internal
    direct = match_customers(participants, directory, is_bulk=bool(message.is_bulk))
    may_inherit = not direct and not message.is_bulk and not internal and bool(message.in_reply_to)
    parents = _stored_links_by_header(session, [message.in_reply_to]) if may_inherit else {}
    pins, blocks = (set(), set()) if is_new else _overrides_of(session, [message.id]).get(message.id, (set(), set()))
    final = resolve_links(
        direct, parent_links=parents.get(message.in_reply_to, ()), parent_id=message.in_reply_to or "",
        may_inherit=may_inherit, pins=pins, blocks=blocks,
    )
    if not is_new:
        session.execute(delete(Link).where(Link.message_id == message.id))
    for c in final:
        session.add(
            Link(message_id=message.id, customer_id=c.customer_id, role=c.role,
                 method=c.method, matched=c.matched)
        )
    return final


@dataclass(frozen=True)
class RelinkReport:
    messages: int
    changed: frozenset[int]  # message row ids whose set of customers changed


def relink(session: Session, directory: Directory, message_ids: Iterable[int] | None = None) -> RelinkReport:
    """Recompute the links of the given messages (all when None) from their stored participants.

    The replies below the given messages are recomputed too (they may inherit links down the
    thread), so relinking the messages a change touches gives what a full relink gives.
    Pins and blocks are kept and re-applied; every other link is recomputed.
    """
    if message_ids is None:
        ids = session.scalars(select(Message.id).where(Message.status == "ok").order_by(Message.id)).all()
    else:
        ids = sorted(with_replies(session, message_ids))
    before = customers_by_message(session, None if message_ids is None else ids)
    info: dict[int, tuple[str | None, str | None, bool, bool]] = {}
    participants: dict[int, list[Participant]] = defaultdict(list)
    for chunk in _id_chunks(ids, message_ids is None):
        for mid, header, parent, bulk, internal in session.execute(
            select(Message.id, Message.header_message_id, Message.in_reply_to, Message.is_bulk, Message.is_internal)
            .where(Message.status == "ok", *chunk(Message.id))
        ):
            info[mid] = (header, parent, bool(bulk), bool(internal))
        for mid, role, name, email in session.execute(
            select(ParticipantRow.message_id, ParticipantRow.role, ParticipantRow.name, ParticipantRow.email)
            .where(*chunk(ParticipantRow.message_id)).order_by(ParticipantRow.id)
        ):
            participants[mid].append(Participant(role, Address(name, email)))
    overrides = _overrides_of(session, None if message_ids is None else list(info))
    direct: dict[int, list[LinkCandidate]] = {}
    internal: dict[int, bool] = {}
    by_header: dict[str, list[int]] = defaultdict(list)
    for mid, (header, _, bulk, _) in info.items():
        people = participants.get(mid, [])
        internal[mid] = bool(people) and all(is_internal(p.address.email, directory) for p in people)
        direct[mid] = match_customers(people, directory, is_bulk=bulk)
        if header:
            by_header[header].append(mid)
    # Parents outside the set keep their stored links: nothing this relink changes reaches them.
    outside = {info[mid][1] for mid in info if info[mid][1] and info[mid][1] not in by_header and not direct[mid]}
    stored_parents = _stored_links_by_header(session, outside)
    final: dict[int, list[LinkCandidate]] = {}

    def resolve(mid: int, visiting: frozenset[int]) -> list[LinkCandidate]:
        if mid in final:
            return final[mid]
        _, parent, bulk, _ = info[mid]
        may_inherit = not direct[mid] and not bulk and not internal[mid] and bool(parent)
        inherited: set[int] = set()
        if may_inherit:
            if parent in by_header:
                for pid in by_header[parent]:
                    if pid != mid and pid not in visiting:  # a Message-ID loop inherits nothing
                        inherited |= {c.customer_id for c in resolve(pid, visiting | {mid})}
            else:
                inherited = set(stored_parents.get(parent, ()))
        pins, blocks = overrides.get(mid, (set(), set()))
        result = resolve_links(direct[mid], parent_links=inherited, parent_id=parent or "",
                               may_inherit=may_inherit, pins=pins, blocks=blocks)
        final[mid] = result
        return result

    changed = set()
    for chunk in _chunks(list(info), 500):
        session.execute(delete(Link).where(Link.message_id.in_(chunk)))
        rows = []
        for mid in chunk:
            links = resolve(mid, frozenset())
            rows += [{"message_id": mid, "customer_id": c.customer_id, "role": c.role,
                      "method": c.method, "matched": c.matched} for c in links]
            if {c.customer_id for c in links} != set(before.get(mid, ())):
                changed.add(mid)
        if rows:
            session.execute(insert(Link), rows)
        for value in (True, False):
            flip = [mid for mid in chunk if internal[mid] is value and info[mid][3] is not value]
            if flip:
                session.execute(update(Message).where(Message.id.in_(flip)).values(is_internal=value))
    session.flush()
    return RelinkReport(messages=len(info), changed=frozenset(changed))


def with_replies(session: Session, message_ids: Iterable[int]) -> set[int]:
    """``message_ids`` and every reply below them (by In-Reply-To), however deep."""
    found = set(message_ids)
    frontier = found
    while frontier:
        headers = set()
        for chunk in _chunks(sorted(frontier), 500):
            headers |= set(session.scalars(
                select(Message.header_message_id)
                .where(Message.id.in_(chunk), Message.header_message_id.is_not(None))
            ))
        replies = set()
        for chunk in _chunks(sorted(headers), 500):
            replies |= set(session.scalars(select(Message.id).where(Message.in_reply_to.in_(chunk))))
        frontier = replies - found
        found |= frontier
    return found


def messages_involving(session: Session, *, emails: Iterable[str] = (), domains: Iterable[str] = ()) -> set[int]:
    """Messages with a participant at one of ``emails``, or on one of ``domains`` or a subdomain of one.

    Looks the addresses and hosts up in the participants table (both indexed); never scans messages.
    """
    found: set[int] = set()
    for chunk in _chunks(sorted(set(emails)), 500):
        found |= set(session.scalars(select(ParticipantRow.message_id).where(ParticipantRow.email.in_(chunk))))
    wanted = set(domains)
    if wanted:
        # The distinct hosts are few (thousands) and come from the index alone.
        hosts = [h for h in session.scalars(select(ParticipantRow.domain).distinct())
                 if h and any(h == d or h.endswith("." + d) for d in _parents(h, wanted))]
        for chunk in _chunks(sorted(hosts), 500):
            found |= set(session.scalars(select(ParticipantRow.message_id).where(ParticipantRow.domain.in_(chunk))))
    return found


def _parents(host: str, wanted: set[str]) -> list[str]:
    labels = host.split(".")
    return [d for d in (".".join(labels[i:]) for i in range(len(labels))) if d in wanted]


def changed_keys(before: Directory, after: Directory) -> tuple[set[str], set[str]]:
    """The addresses and domains whose customers differ between two directory snapshots."""
    emails = {e for e in before.by_email.keys() | after.by_email.keys()
              if before.by_email.get(e) != after.by_email.get(e)}
    domains = {d for d in before.by_domain.keys() | after.by_domain.keys()
               if before.by_domain.get(d) != after.by_domain.get(d)}
    return emails, domains


def affected_messages(session: Session, before: Directory, after: Directory) -> set[int]:
    """The messages whose links a change from ``before`` to ``after`` can alter (replies aside)."""
    emails, domains = changed_keys(before, after)
    return messages_involving(session, emails=emails, domains=domains)


def _stored_links_by_header(session: Session, headers: Iterable[str | None]) -> dict[str, set[int]]:
    """Customer ids linked to the stored messages carrying each Message-ID header."""
    result: dict[str, set[int]] = defaultdict(set)
    for chunk in _chunks(sorted({h for h in headers if h}), 500):
        for header, customer_id in session.execute(
            select(Message.header_message_id, Link.customer_id)
            .join(Link, Link.message_id == Message.id)
            .where(Message.header_message_id.in_(chunk))
        ):
            result[header].add(customer_id)
    return result


def _overrides_of(session: Session, message_ids: Sequence[int] | None) -> dict[int, tuple[set[int], set[int]]]:
    """(pinned, blocked) customer ids per message id, for the messages given (all when None)."""
    result: dict[int, tuple[set[int], set[int]]] = defaultdict(lambda: (set(), set()))
    query = select(LinkOverride.message_id, LinkOverride.customer_id, LinkOverride.action)
    if message_ids is None:
        rows = session.execute(query)
    else:
        rows = (r for chunk in _chunks(list(message_ids), 500)
                for r in session.execute(query.where(LinkOverride.message_id.in_(chunk))))
    for mid, cid, action in rows:
        result[mid][0 if action == "pin" else 1].add(cid)
    return dict(result)


def _id_chunks(ids: Sequence[int], everything: bool):
    """Functions giving WHERE clauses on a message-id column that cover ``ids`` chunk by chunk:
    id ranges when relinking everything (no long IN lists), IN lists otherwise."""
    if everything:
        for chunk in _chunks(list(ids), 5000):
            yield lambda column, lo=chunk[0], hi=chunk[-1]: (column >= lo, column <= hi)
    else:
        for chunk in _chunks(list(ids), 500):
            yield lambda column, chunk=chunk: (column.in_(chunk),)


def customers_by_message(session: Session, message_ids: Sequence[int] | None = None) -> dict[int, list[int]]:
    """Linked customer ids per message row id (sorted), for the messages given (all when None)."""
    result: dict[int, set[int]] = defaultdict(set)
    query = select(Link.message_id, Link.customer_id)
    if message_ids is None:
        pairs = session.execute(query)
    else:
        pairs = (p for chunk in _chunks(list(message_ids), 500)
                 for p in session.execute(query.where(Link.message_id.in_(chunk))))
    for message_id, customer_id in pairs:
        result[message_id].add(customer_id)
    return {k: sorted(v) for k, v in result.items()}


def customer_names(session: Session, customer_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    return dict(session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all())


@dataclass(frozen=True)
class CustomerActivity:
    messages: int
    first_contact: datetime | None
    last_contact: datetime | None


def customer_activity(session: Session, customer_ids: Iterable[int] | None = None) -> dict[int, CustomerActivity]:
    """Message count and first/last message date per customer id (of ``customer_ids``, or all)."""
    links = select(Link.customer_id, Link.message_id)
    if customer_ids is not None:
        links = links.where(Link.customer_id.in_(sorted(set(customer_ids))))
    per_message = links.distinct().subquery()
    rows = session.execute(
        select(per_message.c.customer_id, func.count(), func.min(Message.date), func.max(Message.date))
        .join(Message, Message.id == per_message.c.message_id)
        .group_by(per_message.c.customer_id)
    )
    return {cid: CustomerActivity(n, first, last) for cid, n, first, last in rows}


def _chunks(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def relink_replies(session: Session, directory: Directory, messages: Iterable[Message]) -> set[int]:
    """Re-link the stored replies to ``messages`` (just stored), which may now inherit their links:
    a reply can arrive before the message it answers. Return the replies whose customers changed."""
    headers = sorted({m.header_message_id for m in messages if m.header_message_id})
    replies: set[int] = set()
    for chunk in _chunks(headers, 500):
        replies |= set(session.scalars(select(Message.id).where(Message.in_reply_to.in_(chunk))))
    if not replies:
        return set()
    session.flush()
    return set(relink(session, directory, replies).changed)
