"""Importing a customer sheet: planning what each row becomes (pure), and applying that plan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .customers_file import CustomerRow, RowError, SheetReading
from .duplicates import Duplicate, duplicate_keys, reasons_for
from .match import Directory, is_freemail, is_internal
from .models import Customer
from .records import CustomerRecord, load_customer_records, merge_record
from .repository import store_record

__all__ = ["ImportPlan", "PlannedRow", "import_customers", "is_linkable", "plan_import"]

_ACTIONS = ("create", "update", "unchanged", "skip")
_LISTED = 8  # rows named in one notice; the rest are counted


@dataclass(frozen=True)
class PlannedRow:
    """What one line of the sheet becomes: ``create``, ``update`` or leave ``unchanged`` the customer
    ``target``, or ``skip`` it (``reason`` says why); ``duplicates`` are the likely duplicates a
    new customer would make."""

    row: CustomerRow | RowError
    action: str
    target: str = ""
    reason: str = ""
    record: CustomerRecord | None = None  # the customer as this row leaves it
    duplicates: tuple[Duplicate, ...] = ()


@dataclass(frozen=True)
class ImportPlan:
    """A whole sheet's import: each row's plan, and the customers that could link no mail after it."""

    reading: SheetReading
    rows: tuple[PlannedRow, ...]
    unlinkable: tuple[PlannedRow, ...]  # the last row of each customer that can link nothing

    def count(self, action: str) -> int:
        """Rows planned as ``action`` (one of create, update, unchanged, skip)."""
        return sum(1 for r in self.rows if r.action == action)

    @property
    def customers(self) -> int:
        """Customers the sheet names (created, updated or unchanged)."""
        return len({r.target for r in self.rows if r.action != "skip"})

    def notices(self) -> list[str]:
        """What the user should know before trusting the import, one sentence each: values that
        could not be read, customers that can link no mail (and how to map a column), likely
        duplicates the import creates."""
        where = self.reading.where
        lines = [f"{where(p.row)}: {problem}" for p in self.rows if isinstance(p.row, CustomerRow)
                 for problem in p.row.problems]
        if self.unlinkable:
            listed = ", ".join(f"{where(p.row)} {p.target}" for p in self.unlinkable[:_LISTED])
            more = f" and {len(self.unlinkable) - _LISTED} more" if len(self.unlinkable) > _LISTED else ""
            lines.append(f"{len(self.unlinkable)} of {self.customers} customers can link no mail (no e-mail "
                         f"address or company domain): {listed}{more}")
            lines.append(self._mapping_hint())
        for p in self.rows:
            for d in p.duplicates:
                lines.append(f"{where(p.row)}: {p.target} is likely a duplicate of {d.customers[0]} ({d.why}); "
                             f"to merge: {d.merge_command}")
        return lines

    def _mapping_hint(self) -> str:
        columns = [c for t in self.reading.tables for c in t.columns]
        read = "columns read as: " + ", ".join(
            f"{c.header.strip() or f'column {c.index + 1}'}={c.field or 'custom field'}" for c in columns)
        suggested = next((c for c in columns if c.suggest), None)
        if suggested is not None:
            header = suggested.header.strip()
            return (f"{read}; {header!r} looks like {suggested.suggest}: read it so with "
                    f"--map \"{header}={suggested.suggest}\" (repeatable)")
        custom = next((c.header.strip() for c in columns if not c.field and c.header.strip()), "HEADER")
        if any(c.field in ("emails", "domains") for c in columns):
            return (f"{read}; give those customers an address or a domain (in the sheet, or with `dossier "
                    f"customers edit NAME --add-email ADDRESS`), or map a column with --map \"{custom}=emails\"")
        return (f"no column gave addresses or domains; {read}; say which column holds them with "
                f"--map \"{custom}=emails\" or --map \"{custom}=domains\" (repeatable)")


def is_linkable(record: CustomerRecord, directory: Directory) -> bool:
    """Whether mail can ever link to ``record``: it has an address that is not the team's own, or a
    domain that is neither the team's own nor a free-mail provider's."""
    if any(not is_internal(e, directory) for e in record.emails):
        return True
    return any(not is_internal(f"x@{d}", directory) and not is_freemail(f"x@{d}", directory)
               for d in record.domains)


def plan_import(reading: SheetReading, records: Sequence[CustomerRecord], directory: Directory) -> ImportPlan:
    """What importing ``reading`` into a directory of ``records`` does, row by row (rows are applied
    in order, so a later row sees what an earlier one created). A row updates the customer of the
    same name (ignoring case), else the one customer that has one of its domains; otherwise it
    creates one. Never raises: a row that cannot be placed is planned as ``skip``."""
    slots: list[CustomerRecord] = list(records)
    by_name = {_name(r.name): n for n, r in enumerate(slots)}
    by_domain: dict[str, set[int]] = defaultdict(set)
    by_key: dict[tuple[str, str], set[int]] = defaultdict(set)
    for n, record in enumerate(slots):
        _index(n, record, by_domain, by_key, directory.freemail)
    planned: list[PlannedRow] = []
    last_row: dict[int, int] = {}
    for row in reading.rows:
        if isinstance(row, RowError):
            planned.append(PlannedRow(row, "skip", reason=row.reason))
            continue
        slot = by_name.get(_name(row.name))
        if slot is None and row.domains:
            owners = set().union(*(by_domain.get(d, set()) for d in row.domains))
            if len(owners) > 1:
                taken = ", ".join(sorted(slots[o].name for o in owners))
                planned.append(PlannedRow(row, "skip", reason=f"its domains belong to several customers ({taken}); "
                                                              "add it by hand or merge them first"))
                continue
            slot = next(iter(owners), None)
        before = CustomerRecord(None, row.name) if slot is None else slots[slot]
        after = merge_record(before, domains=row.domains, emails=row.emails, owner=row.owner, people=row.people,
                             country=row.country, notes=row.notes, fields=row.fields)
        duplicates: tuple[Duplicate, ...] = ()
        if slot is None:
            action, slot = "create", len(slots)
            slots.append(after)
            by_name[_name(after.name)] = slot
            others = set().union(*(by_key.get(k, set()) for k in duplicate_keys(after, directory.freemail)))
            duplicates = tuple(Duplicate((slots[o].name, after.name), why) for o in sorted(others)
                               if (why := reasons_for(slots[o], after, directory.freemail)))
        else:
            action = "unchanged" if after == before else "update"
            slots[slot] = after
        _index(slot, after, by_domain, by_key, directory.freemail)
        last_row[slot] = len(planned)
        planned.append(PlannedRow(row, action, target=after.name, record=after, duplicates=duplicates))
    unlinkable = tuple(planned[i] for slot, i in sorted(last_row.items(), key=lambda item: item[1])
                       if not is_linkable(slots[slot], directory))
    return ImportPlan(reading, tuple(planned), unlinkable)


def import_customers(session: Session, reading: SheetReading, directory: Directory, *, dry_run: bool = False
                     ) -> ImportPlan:
    """Plan the import of ``reading`` against the stored customers and, unless ``dry_run``, write
    each created or updated customer exactly as planned (never commits). Return the plan."""
    plan = plan_import(reading, load_customer_records(session), directory)
    if dry_run:
        return plan
    updated = sorted({p.record.id for p in plan.rows if p.action == "update" and p.record and p.record.id})
    stored: dict[int, Customer] = {}  # loaded with their details in a few queries, not three per row
    for start in range(0, len(updated), 500):
        stored.update((c.id, c) for c in session.scalars(
            select(Customer).where(Customer.id.in_(updated[start:start + 500])).options(
                selectinload(Customer.domains), selectinload(Customer.contacts), selectinload(Customer.people))))
    created: dict[str, Customer] = {}  # customers this import creates, by name (a later row may update one)
    for p in plan.rows:
        if p.action not in ("create", "update") or p.record is None:
            continue
        record = p.record
        customer = stored[record.id] if record.id is not None else created.get(_name(record.name))
        customer = store_record(session, record, customer)
        if record.id is None:
            created[_name(record.name)] = customer
    session.flush()
    return plan


def _name(name: str) -> str:
    return " ".join(name.split()).casefold()


def _index(slot: int, record: CustomerRecord, by_domain: dict[str, set[int]],
           by_key: dict[tuple[str, str], set[int]], freemail: frozenset[str]) -> None:
    for domain in record.domains:
        by_domain[domain].add(slot)
    for key in duplicate_keys(record, freemail):
        by_key[key].add(slot)
