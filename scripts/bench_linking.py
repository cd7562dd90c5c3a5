"""Linking benchmark: a synthetic archive with known ground truth, precision/recall, relink-after-edit time.

Writes customers, messages and participants straight into a fresh data directory (no raw mail,
no search index: this measures the linker), links everything with a full relink, compares the
links with the generator's ground truth, then times customer edits that re-link exactly the
affected messages and checks each result against a full relink.

    python scripts/bench_linking.py [--messages 100000] [--data-dir DIR] [--seed 7] [--no-check]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import Archive, load_settings  # noqa: E402
from config.pipeline import apply_customer_change  # noqa: E402
from config.settings import init_data_dir  # noqa: E402
from ingest import Message, ParticipantRow  # noqa: E402
from linker import (  # noqa: E402
    Customer,
    Link,
    edit_customer,
    merge_customers,
    relink,
    remove_customer,
    save_customer,
)

OWN = "northwind-trading.com"
FREEMAIL = ["gmail.com", "qq.com", "vip.qq.com", "163.com", "126.com", "foxmail.com", "sina.com", "yeah.net"]
SUBDOMAINS = ["", "", "", "mail.", "sales.", "cn.", "eu.mail."]


class World:
    """The synthetic customers and the truth about who belongs to whom."""

    def __init__(self, rng: random.Random, customers: int) -> None:
        self.rng = rng
        self.customers: list[dict] = []  # name, domains, emails
        self.company: list[tuple[str, int]] = []  # (domain, customer index) for domain customers
        self.sub_owned: list[tuple[str, int]] = []  # (subdomain, owner) where the parent is someone else's
        self.freemail_people: list[tuple[str, int]] = []  # (address, customer index)
        self.shared: list[tuple[str, int, int, str]] = []  # (domain, a, b, contact of b)
        for i in range(customers):
            kind = i % 10
            if kind < 7:
                domain = f"company{i}.{rng.choice(['com', 'cn', 'com.cn', 'co.uk', 'de', 'com.tw'])}"
                self.company.append((domain, len(self.customers)))
                self.customers.append({"name": f"Company {i}", "domains": [domain], "emails": []})
            elif kind < 9:
                address = f"buyer{i}@{rng.choice(FREEMAIL)}"
                self.freemail_people.append((address, len(self.customers)))
                self.customers.append({"name": f"Person {i}", "domains": [], "emails": [address]})
            else:
                self.customers.append({"name": f"Group {i} North", "domains": [f"group{i}.de"], "emails": []})
                self.customers.append({"name": f"Group {i} South", "domains": [f"group{i}.de"],
                                       "emails": [f"boss@group{i}.de"]})
                self.shared.append((f"group{i}.de", len(self.customers) - 2, len(self.customers) - 1,
                                    f"boss@group{i}.de"))
        # Every tenth company has a sales subsidiary that is its own customer.
        for domain, owner in self.company[::10]:
            self.customers.append({"name": f"Sales of {owner}", "domains": [f"sales.{domain}"], "emails": []})
            self.sub_owned.append((f"sales.{domain}", len(self.customers) - 1))


def generate(world: World, count: int, rng: random.Random):
    """Yield (message row, participants, true customer indexes) for ``count`` messages."""
    start = datetime(2020, 1, 1)
    truth_by_header: dict[str, frozenset[int]] = {}
    headers: list[str] = []
    for n in range(count):
        header = f"m{n}@bench"
        date = start + timedelta(minutes=37 * n)
        us = f"rep{rng.randrange(20)}@{OWN}"
        roll = rng.random()
        people: list[tuple[str, str]] = []
        truth: set[int] = set()
        is_bulk, in_reply_to = False, None
        if roll < 0.40:  # a company customer, possibly from a subdomain, inbound or outbound
            domain, owner = rng.choice(world.company)
            sub = rng.choice(SUBDOMAINS)
            host = f"{sub}{domain}"
            if sub == "sales." and any(d == host for d, _ in world.sub_owned):
                owner = next(o for d, o in world.sub_owned if d == host)
            them = f"p{rng.randrange(5)}@{host}"
            people = [("from", them), ("to", us)] if rng.random() < 0.5 else [("from", us), ("to", them)]
            truth.add(owner)
        elif roll < 0.50:  # the sales subsidiary
            host, owner = rng.choice(world.sub_owned)
            people = [("from", f"x{rng.randrange(3)}@{host}"), ("to", us)]
            truth.add(owner)
        elif roll < 0.58:  # a customer on free mail, by exact address
            address, owner = rng.choice(world.freemail_people)
            people = [("from", address), ("cc", f"rep0@{OWN}"), ("to", us)]
            truth.add(owner)
        elif roll < 0.63:  # a shared domain: both, unless the contact of one takes part
            domain, a, b, contact = rng.choice(world.shared)
            people = [("from", f"staff{rng.randrange(4)}@{domain}"), ("to", us)]
            if rng.random() < 0.3:
                people.append(("cc", contact))
                truth.add(b)
            else:
                truth |= {a, b}
        elif roll < 0.71:  # internal only
            people = [("from", us), ("to", f"rep{rng.randrange(20)}@{OWN}")]
        elif roll < 0.78:  # mailing lists and robots on a customer's domain: no link
            domain, _ = rng.choice(world.company)
            people = [("from", f"newsletter@{domain}"), ("to", us)]
            is_bulk = True
        elif roll < 0.86:  # strangers: unknown companies and unknown free-mail people
            host = rng.choice([f"unknown{rng.randrange(2000)}.com", rng.choice(FREEMAIL)])
            people = [("from", f"someone{rng.randrange(500)}@{host}"), ("to", us)]
        elif roll < 0.94 and headers:  # a reply from an unknown free-mail address: inherits
            parent = headers[rng.randrange(max(0, len(headers) - 500), len(headers))]
            in_reply_to = parent
            people = [("from", f"private{rng.randrange(900)}@{rng.choice(FREEMAIL)}"), ("to", us)]
            truth |= truth_by_header[parent]
        else:  # several customers on one message (a customer copies its supplier that is also ours)
            (d1, o1), (d2, o2) = rng.sample(world.company, 2)
            people = [("from", f"a@{d1}"), ("to", us), ("cc", f"b@mail.{d2}")]
            truth |= {o1, o2}
        truth_by_header[header] = frozenset(truth)
        headers.append(header)
        row = {"sha256": f"{n:064x}", "size": 1000, "status": "ok", "header_message_id": header,
               "subject": f"Message {n}", "from_name": "", "from_email": people[0][1], "date": date,
               "date_source": "date", "in_reply_to": in_reply_to, "references": [], "is_html_only": False,
               "defects": [], "is_internal": False, "is_bulk": is_bulk, "stored_at": date, "indexed_at": date}
        yield row, people, frozenset(truth)


def build(archive: Archive, world: World, count: int, rng: random.Random) -> dict[int, frozenset[int]]:
    """Write the customers and messages; return the truth as message id -> customer ids."""
    truth: dict[int, frozenset[int]] = {}
    with archive.sessions.begin() as session:
        ids = []
        for c in world.customers:
            customer, _ = save_customer(session, c["name"], domains=c["domains"], emails=c["emails"])
            ids.append(customer.id)
        batch: list = []

        def flush() -> None:
            first = (session.scalar(select(func.max(Message.id))) or 0) + 1
            session.execute(insert(Message), [row for row, _, _ in batch])
            participants = []
            for offset, (_, people, true) in enumerate(batch):
                mid = first + offset
                truth[mid] = frozenset(ids[i] for i in true)
                participants += [{"message_id": mid, "role": role, "name": "", "email": email,
                                  "domain": email.rpartition("@")[2]} for role, email in people]
            session.execute(insert(ParticipantRow), participants)
            batch.clear()

        for item in generate(world, count, rng):
            batch.append(item)
            if len(batch) == 5000:
                flush()
        if batch:
            flush()
    return truth


def links(session) -> dict[int, frozenset[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    for mid, cid in session.execute(select(Link.message_id, Link.customer_id)):
        found[mid].add(cid)
    return {k: frozenset(v) for k, v in found.items()}


def link_rows(session) -> set[tuple]:
    return set(session.execute(select(Link.message_id, Link.customer_id, Link.role, Link.method, Link.matched)))


def score(truth: dict[int, frozenset[int]], got: dict[int, frozenset[int]]) -> tuple[float, float, int]:
    tp = fp = fn = wrong = 0
    for mid, true in truth.items():
        have = got.get(mid, frozenset())
        tp += len(true & have)
        fp += len(have - true)
        fn += len(true - have)
        wrong += have != true
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, wrong


def timed_edit(archive: Archive, label: str, change, check: bool) -> None:
    started = time.perf_counter()
    with archive.sessions.begin() as session:  # the re-link only: re-indexing is not timed here
        relinked, changed = apply_customer_change(archive, session, change)
    seconds = time.perf_counter() - started
    line = f"  {label:<44} {seconds:6.3f} s  ({relinked} re-linked, {len(changed)} changed)"
    if check:
        with archive.sessions.begin() as session:
            incremental = link_rows(session)
            relink(session, archive.directory(session))
            same = link_rows(session) == incremental
        line += "  = full relink" if same else "  DIFFERS from a full relink"
    print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-check", action="store_true", help="Skip comparing each edit with a full relink.")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="dossier-bench-")) / "data"
    init_data_dir(data_dir, own_domains=[OWN])
    archive = Archive(load_settings(data_dir))
    rng = random.Random(args.seed)
    world = World(rng, args.customers)

    started = time.perf_counter()
    truth = build(archive, world, args.messages, rng)
    print(f"archive: {args.messages} messages, {len(world.customers)} customers in {data_dir} "
          f"({time.perf_counter() - started:.1f} s to write)")
    started = time.perf_counter()
    with archive.sessions.begin() as session:
        relink(session, archive.directory(session))
    print(f"full relink: {time.perf_counter() - started:.1f} s")
    with archive.sessions() as session:
        precision, recall, wrong = score(truth, links(session))
    print(f"precision {precision:.4%}  recall {recall:.4%}  messages with a wrong customer set: {wrong}")

    print("relink after edit (find affected messages via participants, relink them, in one transaction):")
    company_domain, company_owner = world.company[3]
    company_owner = world.customers[company_owner]["name"]
    unknown = "unknown7.com"

    def find(session, name):
        return session.scalar(select(Customer).where(Customer.name == name))

    timed_edit(archive, f"add customer with domain {unknown}",
               lambda s: save_customer(s, "New Co", domains=[unknown]) and None, not args.no_check)
    with archive.sessions() as session:  # the busiest free-mail stranger
        stranger = session.scalar(
            select(ParticipantRow.email).where(ParticipantRow.email.like("private%"))
            .group_by(ParticipantRow.email).order_by(func.count().desc()).limit(1))
    timed_edit(archive, f"add a contact address {stranger}",
               lambda s: save_customer(s, world.customers[0]["name"], emails=[stranger]) and None, not args.no_check)
    timed_edit(archive, "sheet import: 100 new customer domains at once",
               lambda s: [save_customer(s, f"Found {n}", domains=[f"unknown{n}.com"]) for n in range(100, 200)]
               and None, not args.no_check)
    timed_edit(archive, f"add subdomain customer mail.{company_domain}",
               lambda s: save_customer(s, "Mail Sub", domains=[f"mail.{company_domain}"]) and None,
               not args.no_check)
    timed_edit(archive, f"remove domain {company_domain}",
               lambda s: edit_customer(s, find(s, company_owner), remove_domains=[company_domain]),
               not args.no_check)
    timed_edit(archive, "merge Mail Sub into New Co",
               lambda s: merge_customers(s, find(s, "Mail Sub"), find(s, "New Co")), not args.no_check)
    timed_edit(archive, f"remove customer {world.customers[0]['name']}",
               lambda s: remove_customer(s, find(s, world.customers[0]["name"])), not args.no_check)
    archive.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
