"""Reading a customer sheet (CSV, XLSX or XLS; every tab; Chinese or English headers) into checked rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .columns import Column, header_key, header_meaning, looks_like, parse_column_map, plan_columns, read_cell
from .errors import CustomerFileError
from .records import Person
from .workbook import Rows, read_tables

__all__ = ["CustomerFileError", "CustomerRow", "Person", "RowError", "SheetReading", "TableReading",
           "read_customer_sheet"]

_HEADER_SEARCH_ROWS = 20  # title rows, a logo line, a date may sit above the header


@dataclass(frozen=True)
class CustomerRow:
    """One customer line: normalised domains and addresses, the owner, people on file, unknown
    columns in ``fields``, and what in the line could not be read (``problems``)."""

    line: int
    name: str
    domains: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    country: str = ""
    notes: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    owner: str = ""
    people: tuple[Person, ...] = ()
    sheet: str = ""
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowError:
    """A line that cannot be imported, with the reason ("missing name")."""

    line: int
    reason: str
    sheet: str = ""


@dataclass(frozen=True)
class TableReading:
    """One tab as read: where its header is, how each column is read, and its rows."""

    sheet: str
    header_line: int
    columns: tuple[Column, ...]
    rows: tuple[CustomerRow | RowError, ...]


@dataclass(frozen=True)
class SheetReading:
    """A whole customer file as read: the tabs that hold customers, and those skipped (no header)."""

    path: Path
    tables: tuple[TableReading, ...]
    skipped: tuple[str, ...] = ()

    @property
    def rows(self) -> tuple[CustomerRow | RowError, ...]:
        return tuple(r for t in self.tables for r in t.rows)

    def where(self, row: CustomerRow | RowError) -> str:
        """``FILE:LINE``, or ``FILE[SHEET]:LINE`` for a workbook with several tabs."""
        sheet = f"[{row.sheet}]" if row.sheet and len(self.tables) + len(self.skipped) > 1 else ""
        return f"{self.path}{sheet}:{row.line}"


def read_customer_sheet(path: Path, *, mapping: Iterable[str] = (), sheet: str | None = None) -> SheetReading:
    """The customers in a CSV, XLSX or XLS file: every tab with a header row (or only ``sheet``).

    ``mapping`` holds ``--map`` values (``"联系人邮箱=emails"``) that override what a header is
    read as. Raises CustomerFileError when the file cannot be used at all (unreadable, another
    format, no tab with a ``name`` column, a mapped header no tab has); problems in single lines
    come out as RowError items or as a row's ``problems`` while the other lines still import.
    """
    path = Path(path)
    columns_map = parse_column_map(mapping)

    def has_header(rows: Rows) -> bool:
        return _find_header(rows, columns_map) is not None

    tables = read_tables(path, sheet=sheet, has_header=has_header)
    readings, skipped = [], []
    for table in tables:
        at = _find_header(table.rows, columns_map)
        if at is None:
            skipped.append(table.name)
            continue
        line, header = table.rows[at]
        columns = plan_columns(header, columns_map)
        body = table.rows[at + 1:]
        columns = tuple(_with_suggestion(c, body) for c in columns)
        rows = tuple(_read_row(table.name, n, cells, columns, len(header)) for n, cells in body)
        readings.append(TableReading(table.name, line, columns, rows))
    if not readings:
        raise CustomerFileError(_no_header_message(path, tables))
    headers = {header_key(c.header) for t in readings for c in t.columns}
    missing = [h for h in columns_map if h not in headers]
    if missing:
        seen = ", ".join(repr(c.header) for c in readings[0].columns if c.header.strip())
        raise CustomerFileError(f"--map names {missing[0]!r}, but the sheet has no such column (its columns: {seen})")
    return SheetReading(path, tuple(readings), tuple(skipped))


def _find_header(rows: Rows, mapping: Mapping[str, tuple[str, bool]]) -> int | None:
    """The row, among the first ones, with a name column and the most columns recognised."""
    best: tuple[int, int] | None = None
    for i, (_, cells) in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        fields = [mapping[header_key(c)][0] if header_key(c) in mapping else header_meaning(c)[0] for c in cells]
        if "name" not in fields:
            continue
        score = sum(1 for f in fields if f)
        if best is None or score > best[0]:
            best = (score, i)
    return None if best is None else best[1]


def _no_header_message(path: Path, tables: Sequence) -> str:
    first = next((cells for t in tables for _, cells in t.rows if sum(1 for c in cells if c.strip()) > 1),
                 next((cells for t in tables for _, cells in t.rows), ()))
    found = ", ".join(repr(c) for c in first if c.strip()) or "none"
    return (f"{path} has no 'name' column (header cells found: {found}); add a header row with a column "
            "called 'name' or '客户名称', or say which column holds the names: --map \"HEADER=name\"")


def _with_suggestion(column: Column, body: Rows) -> Column:
    if column.field:
        return column
    cells = [cells[column.index] for _, cells in body if column.index < len(cells)]
    hint = looks_like(cells)
    if not hint:
        return column
    return Column(column.index, column.header, column.field, column.key, column.how, column.website,
                  column.group, hint)


def _read_row(sheet: str, line: int, cells: tuple[str, ...], columns: Sequence[Column], width: int
              ) -> CustomerRow | RowError:
    emails: dict[str, None] = {}  # ordered sets
    domains: dict[str, None] = {}
    owners: list[tuple[str, ...]] = []
    named: dict[int, list[Person]] = defaultdict(list)
    loose: list[Person] = []
    plain: dict[str, str] = {}
    fields: dict[str, str] = {}
    problems: list[str] = []
    for column in columns:
        value = cells[column.index].strip() if column.index < len(cells) else ""
        if not value:
            continue
        if not column.field:
            fields[column.key] = value
        elif column.field in ("name", "country", "notes"):
            plain.setdefault(column.field, value)
        else:
            found = read_cell(value, column.field, website=column.website)
            problems += [f"{column.header.strip()}: {token!r} is not a valid "
                         f"{'address' if '@' in token or column.field == 'emails' else 'domain'}, ignored"
                         for token in found.bad]
            if column.field == "owner":
                owners.append(found.emails + tuple(p.name for p in map(_person, found.people) if p.name))
                continue
            emails.update(dict.fromkeys(found.emails))
            domains.update(dict.fromkeys(found.domains))
            people = named[column.group] if column.field in ("contacts", "phones") else loose
            people.extend(map(_person, found.people))
    # Cells beyond the header still hold someone's data: keep them too.
    for index in range(width, len(cells)):
        if value := cells[index].strip():
            fields[f"column {index + 1}"] = value
    name = " ".join(plain.get("name", "").split())
    if not name:
        return RowError(line=line, reason="missing name", sheet=sheet)
    owner = next((o[0] for o in owners if o and "@" in o[0]), next((o[0] for o in owners if o), ""))
    return CustomerRow(
        line=line, name=name, domains=tuple(domains), emails=tuple(emails),
        country=plain.get("country", ""), notes=plain.get("notes", ""), fields=fields, owner=owner,
        people=_people(named, loose), sheet=sheet, problems=tuple(problems),
    )


def _person(pair: tuple[str, str]) -> Person:
    return Person(*pair)


def _people(named: Mapping[int, list[Person]], loose: list[Person]) -> tuple[Person, ...]:
    """People of a row: within one column group (``联系人2``/``电话2``), names and phones given in
    separate columns pair up in order when there are as many of each; otherwise each stays alone."""
    out: dict[Person, None] = {}
    for group in sorted(named):
        items = named[group]
        names = [p for p in items if p.name and not p.phone]
        phones = [p for p in items if p.phone and not p.name]
        if names and len(names) == len(phones):
            paired = [Person(n.name, p.phone) for n, p in zip(names, phones, strict=True)]
            items = [p for p in items if p.name and p.phone] + paired
        out.update(dict.fromkeys(items))
    out.update(dict.fromkeys(p for p in loose if not any(o.name == p.name for o in out if p.name)))
    return tuple(out)
