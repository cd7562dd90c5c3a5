"""Reading a customer sheet (CSV or XLSX, English or Chinese headers) into checked rows."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path

from .domains import normalize_domain, normalize_email
from .errors import CustomerFileError

__all__ = ["CustomerFileError", "CustomerRow", "RowError", "read_customer_file"]

#: Header spellings per field, compared after ``_header_key``.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "客户名称", "公司名称", "客户", "客户名", "公司"),
    "domains": ("domains", "domain", "website", "websites", "url",
                "域名", "网址", "网站", "公司网址", "公司网站", "邮箱域名"),
    "emails": ("emails", "email", "e-mail", "e-mails", "mail",
               "邮箱", "电子邮件", "邮件", "电子邮箱", "邮箱地址", "邮件地址"),
    "country": ("country", "国家", "国家地区", "国家/地区", "国家和地区", "国别"),
    "notes": ("notes", "note", "备注", "说明"),
}
_FIELD_OF = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
_LIST_FIELDS = ("domains", "emails")
_SPLIT = re.compile(r"[;,；，、\s]+")
# "Emails (separate with ;)" and "邮箱（多个用分号）" name the same column as "Emails".
_TRAILING_NOTE = re.compile(r"\s*[(（][^)）]*[)）]$")

_HEADER_SEARCH_ROWS = 10  # a title row or two may sit above the header
_SNIFF_RECORDS = 30
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_CSV_SUFFIXES = {".csv", ".tsv", ".txt", ""}
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class CustomerRow:
    """One valid customer line: normalised domains and addresses, unknown columns in ``fields``."""

    line: int
    name: str
    domains: tuple[str, ...]
    emails: tuple[str, ...]
    country: str
    notes: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RowError:
    """A line that cannot be imported, with the reason ("missing name", "bad email 'foo@'")."""

    line: int
    reason: str


# A sheet as the user sees it: (line or row number, cell texts) for each non-empty record.
_Rows = list[tuple[int, list[str]]]


def read_customer_file(path: Path) -> Iterator[CustomerRow | RowError]:
    """The customers in a CSV or XLSX sheet, one CustomerRow or RowError per non-empty line.

    The file is read and its header found before this returns, so a file that cannot be
    used at all raises CustomerFileError at once (unreadable, legacy .xls or another
    unsupported format, undecodable text, no ``name`` column); problems in single lines
    come out as RowError items while the other lines still import.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CustomerFileError(
            f"cannot read customer file {path}: {exc.strerror or exc}; check the path and permissions"
        ) from exc
    rows = _read_rows(path, data)
    header_at = _find_header(rows)
    if header_at is None:
        found = ", ".join(repr(c) for c in rows[0][1] if c.strip()) if rows else "none"
        raise CustomerFileError(
            f"{path} has no 'name' column (header cells found: {found}); "
            "add a header row with a column called 'name' or '客户名称'"
        )
    header = rows[header_at][1]
    return _parse_rows(_plan_columns(header), rows[header_at + 1:])


def _read_rows(path: Path, data: bytes) -> _Rows:
    suffix = path.suffix.lower()
    if data.startswith(_ZIP_MAGIC) and suffix not in {".ods", ".numbers"}:
        return _read_xlsx(path, data)
    if data.startswith(_OLE_MAGIC):
        raise CustomerFileError(
            f"{path} is an old-style .xls workbook; open it in Excel or WPS and save it as .xlsx or CSV"
        )
    if suffix in _CSV_SUFFIXES:
        return _read_csv(path, data)
    if suffix in _XLSX_SUFFIXES:
        raise CustomerFileError(f"{path} is not a valid .xlsx workbook; re-save it from Excel or WPS")
    raise CustomerFileError(
        f"{path}: unsupported format {suffix!r}; save the customer sheet as .xlsx or .csv"
    )


def _read_csv(path: Path, data: bytes) -> _Rows:
    text = _decode(path, data)
    if "\x00" in text:
        raise CustomerFileError(f"{path} is not a text file; save the customer sheet as .xlsx or .csv")
    # The header is the one row we can recognise, so pick the delimiter under which it appears.
    best: tuple[int, str] | None = None
    for delimiter in _DELIMITERS:
        try:
            sample = list(islice(_csv_records(path, text, delimiter), _SNIFF_RECORDS))
        except CustomerFileError:
            continue  # the full read below reports it if the chosen dialect fails too
        at = _find_header(sample)
        if at is not None:
            width = sum(1 for c in sample[at][1] if c.strip())
            if best is None or width > best[0]:
                best = (width, delimiter)
    return list(_csv_records(path, text, best[1] if best else ","))


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)  # Excel's "Unicode text" export
    else:
        # Strict UTF-8 first: GB18030 would also "decode" most UTF-8 files, into nonsense.
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CustomerFileError(
        f"{path} is neither UTF-8 nor GB18030 text; save it from Excel as 'CSV UTF-8'"
    )


def _csv_records(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for record in reader:
            # A quoted cell may span lines; the record's line is where it starts.
            if any(cell.strip() for cell in record):
                yield start, record
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CustomerFileError(
            f"{path}:{start}: cannot read this CSV line ({exc}); check its quotes or save as .xlsx"
        ) from exc


def _read_xlsx(path: Path, data: bytes) -> _Rows:
    import openpyxl  # only sheets need it; keeps CSV imports light
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise CustomerFileError(
            f"cannot open {path} as an Excel workbook ({exc}); re-save it as .xlsx or export CSV"
        ) from exc
    try:
        if not workbook.worksheets:
            raise CustomerFileError(f"{path} has no worksheet; put the customers on the first sheet")
        sheet = workbook.worksheets[0]
        # Some writers store a wrong sheet size; without it openpyxl reads every row there is.
        sheet.reset_dimensions()
        rows: _Rows = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if any(c.strip() for c in cells):
                rows.append((number, cells))
        return rows
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed as 123 comes back as 123.0
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _header_key(cell: str) -> str:
    key = " ".join(cell.split()).casefold().strip("*:： ")
    return _TRAILING_NOTE.sub("", key).strip("*:： ")


def _find_header(rows: Sequence[tuple[int, list[str]]]) -> int | None:
    for i, (_, cells) in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if any(_FIELD_OF.get(_header_key(c)) == "name" for c in cells):
            return i
    return None


def _plan_columns(header: list[str]) -> list[tuple[int, str, str]]:
    """(column index, known field or "" for a custom field, custom field key) per column."""
    plan = []
    taken: set[str] = set()
    keys: set[str] = set()
    for index, cell in enumerate(header):
        known = _FIELD_OF.get(_header_key(cell), "")
        # A second name/country/notes column is kept as a custom field, never merged.
        if known and (known in _LIST_FIELDS or known not in taken):
            taken.add(known)
            plan.append((index, known, ""))
            continue
        plan.append((index, "", _unique_key(" ".join(cell.split()) or f"column {index + 1}", keys)))
    return plan


def _unique_key(key: str, keys: set[str]) -> str:
    candidate, n = key, 2
    while candidate in keys:
        candidate, n = f"{key} ({n})", n + 1
    keys.add(candidate)
    return candidate


def _parse_rows(plan: list[tuple[int, str, str]], rows: _Rows) -> Iterator[CustomerRow | RowError]:
    width = len(plan)
    keys = {key for _, _, key in plan if key}
    for line, cells in rows:
        known: dict[str, list[str]] = {}
        fields: dict[str, str] = {}
        for index, name, key in plan:
            value = cells[index].strip() if index < len(cells) else ""
            if name:
                known.setdefault(name, []).append(value)
            elif value:
                fields[key] = value
        # Cells beyond the header still hold someone's data: keep them too.
        for index in range(width, len(cells)):
            if value := cells[index].strip():
                fields[_unique_key(f"column {index + 1}", set(keys))] = value
        yield _check_row(line, known, fields)


def _check_row(line: int, known: dict[str, list[str]], fields: dict[str, str]) -> CustomerRow | RowError:
    problems = []
    name = " ".join(known.get("name", [""])[0].split())
    if not name:
        problems.append("missing name")
    domains = _normalised(known.get("domains", []), normalize_domain, "domain", problems)
    emails = _normalised(known.get("emails", []), normalize_email, "email", problems)
    if problems:
        return RowError(line=line, reason="; ".join(problems))
    return CustomerRow(
        line=line,
        name=name,
        domains=domains,
        emails=emails,
        country=known.get("country", [""])[0],
        notes=known.get("notes", [""])[0],
        fields=fields,
    )


def _normalised(
    cells: list[str], normalize: Callable[[str], str | None], what: str, problems: list[str]
) -> tuple[str, ...]:
    found: dict[str, None] = {}  # ordered set
    for cell in cells:
        for token in _SPLIT.split(cell):
            if not token:
                continue
            value = normalize(token)
            if value is None:
                problems.append(f"bad {what} {token!r}")
            else:
                found[value] = None
    return tuple(found)
