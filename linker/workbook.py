"""Workbooks as cell text: every tab of an XLSX or XLS (merged cells filled in) and CSV in any encoding."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path

from .errors import CustomerFileError

__all__ = ["Table", "read_tables"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_CSV_SUFFIXES = {".csv", ".tsv", ".txt", ""}
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_DELIMITERS = (",", ";", "\t")
_SNIFF_RECORDS = 30
# Legacy encodings a customer sheet comes in, for charset detection to choose among when the
# bytes are not UTF-8: Chinese (GBK/GB18030, Big5), Excel's "Unicode text" without its BOM,
# Western Windows, Japanese and Korean.
_ENCODINGS = ["gb18030", "big5", "utf_16_le", "utf_16_be", "cp1252", "shift_jis", "euc_kr"]

#: Rows as the user sees them: (1-based line or row number, cell texts) per non-empty row.
Rows = tuple[tuple[int, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Table:
    """One tab of a workbook (``name`` is "" for a CSV file) as text, empty rows left out."""

    name: str
    rows: Rows


def read_tables(path: Path, *, sheet: str | None = None,
                has_header: Callable[[Rows], bool] = lambda rows: bool(rows)) -> list[Table]:
    """The tables of the CSV, XLSX or XLS file at ``path``: every tab, or only the one called ``sheet``.

    ``has_header`` tells whether some rows hold a header the caller recognises; a CSV file's
    encoding and delimiter are chosen so that they do. Raises CustomerFileError when the file
    cannot be read, is of another format, or has no tab called ``sheet``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CustomerFileError(
            f"cannot read customer file {path}: {exc.strerror or exc}; check the path and permissions"
        ) from exc
    suffix = path.suffix.lower()
    if data.startswith(_ZIP_MAGIC) and suffix not in {".ods", ".numbers"}:
        tables = _read_xlsx(path, data)
    elif data.startswith(_OLE_MAGIC):
        tables = _read_xls(path, data)
    elif suffix in _CSV_SUFFIXES:
        return [Table("", _read_csv(path, data, has_header))]
    elif suffix in _XLSX_SUFFIXES:
        raise CustomerFileError(f"{path} is not a valid .xlsx workbook; re-save it from Excel or WPS")
    else:
        raise CustomerFileError(f"{path}: unsupported format {suffix!r}; save the customer sheet as .xlsx or .csv")
    if sheet is None:
        return tables
    chosen = [t for t in tables if t.name == sheet] or [t for t in tables if t.name.casefold() == sheet.casefold()]
    if not chosen:
        names = ", ".join(repr(t.name) for t in tables)
        raise CustomerFileError(f"{path} has no sheet {sheet!r}; its sheets are {names}")
    return chosen[:1]


def _read_csv(path: Path, data: bytes, has_header: Callable[[Rows], bool]) -> Rows:
    texts = list(_decodings(path, data))
    # The header is the one row we can recognise, so pick the encoding and the delimiter under
    # which it appears; failing that, the likeliest encoding and the widest first row.
    best: tuple[int, str, str] | None = None
    for text in texts:
        for delimiter in _DELIMITERS:
            try:
                sample = tuple(islice(_csv_records(path, text, delimiter), _SNIFF_RECORDS))
            except CustomerFileError:
                continue  # the full read below reports it if the chosen dialect fails too
            if sample and has_header(sample):
                width = max(sum(1 for c in cells if c.strip()) for _, cells in sample[:_SNIFF_RECORDS])
                if best is None or width > best[0]:
                    best = (width, text, delimiter)
        if best is not None:
            break
    text, delimiter = (best[1], best[2]) if best else (texts[0], ",")
    if "\x00" in text:
        raise CustomerFileError(f"{path} is not a text file; save the customer sheet as .xlsx or .csv")
    return tuple(_csv_records(path, text, delimiter))


def _decodings(path: Path, data: bytes) -> Iterator[str]:
    """``data`` decoded as each plausible encoding, likeliest first."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        yield data.decode("utf-16", "replace")  # Excel's "Unicode text" export
        return
    try:
        # Strict UTF-8 first: legacy CJK codecs would also "decode" most UTF-8 files, into nonsense.
        yield data.decode("utf-8-sig")
        return
    except UnicodeDecodeError:
        pass
    import charset_normalizer  # only non-UTF-8 files need detection

    found = False
    for match in charset_normalizer.from_bytes(data, cp_isolation=_ENCODINGS):
        found = True
        yield str(match)
    if not found:
        raise CustomerFileError(
            f"{path} is not text in UTF-8, GBK, Big5 or UTF-16; save it from Excel as 'CSV UTF-8'"
        )


def _csv_records(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, tuple[str, ...]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for record in reader:
            # A quoted cell may span lines; the record's line is where it starts.
            if any(cell.strip() for cell in record):
                yield start, tuple(record)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CustomerFileError(
            f"{path}:{start}: cannot read this CSV line ({exc}); check its quotes or save as .xlsx"
        ) from exc


def _read_xlsx(path: Path, data: bytes) -> list[Table]:
    import openpyxl  # only workbooks need it; keeps CSV imports light
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # Not read-only: merged cell ranges are known only to a fully loaded sheet.
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise CustomerFileError(
            f"cannot open {path} as an Excel workbook ({exc}); re-save it as .xlsx or export CSV"
        ) from exc
    try:
        tables = []
        for sheet in workbook.worksheets:
            grid = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            merged = [(r.min_row - 1, r.max_row, r.min_col - 1, r.max_col) for r in sheet.merged_cells.ranges]
            tables.append(Table(sheet.title, _rows(_fill_merged(grid, merged))))
        return tables
    finally:
        workbook.close()


def _read_xls(path: Path, data: bytes) -> list[Table]:
    import xlrd  # only legacy workbooks need it
    import xlrd.compdoc

    try:
        # formatting_info is what makes xlrd read the merged cell ranges.
        book = xlrd.open_workbook(file_contents=data, formatting_info=True)
    except (xlrd.XLRDError, xlrd.compdoc.CompDocError, ValueError, IndexError, KeyError, AssertionError) as exc:
        raise CustomerFileError(
            f"cannot open {path} as an old-style .xls workbook ({exc}); re-save it as .xlsx or CSV"
        ) from exc
    tables = []
    for sheet in book.sheets():
        grid = [[_xls_text(sheet.cell(r, c), book.datemode) for c in range(sheet.ncols)] for r in range(sheet.nrows)]
        tables.append(Table(sheet.name, _rows(_fill_merged(grid, sheet.merged_cells))))
    return tables


def _xls_text(cell, datemode: int) -> str:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return _cell_text(xlrd.xldate_as_datetime(cell.value, datemode))
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return str(cell.value)
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if cell.value else "FALSE"
    return _cell_text(cell.value)


def _fill_merged(grid: list[list[str]], ranges: Sequence[tuple[int, int, int, int]]) -> list[list[str]]:
    """Give every cell of a merged range the value of its top-left cell (``ranges`` hold
    0-based first row, row end, first column, column end, ends exclusive)."""
    for row_lo, row_hi, col_lo, col_hi in ranges:
        if row_lo >= len(grid) or col_lo >= len(grid[row_lo]):
            continue
        value = grid[row_lo][col_lo]
        for r in range(row_lo, min(row_hi, len(grid))):
            row = grid[r]
            row.extend([""] * (col_hi - len(row)))
            for c in range(col_lo, col_hi):
                row[c] = value
    return grid


def _rows(grid: list[list[str]]) -> Rows:
    return tuple((n, tuple(cells)) for n, cells in enumerate(grid, start=1) if any(c.strip() for c in cells))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed as 123 (or a phone number) comes back as 123.0
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
