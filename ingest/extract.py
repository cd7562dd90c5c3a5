"""Plain text out of attachments (PDF, XLSX, XLS, DOCX, CSV/TXT, HTML), bounded in size and time.

The only module that touches pypdf, openpyxl (for attachments), xlrd and python-docx. Every
extractor stops at :attr:`ExtractLimits.max_chars` characters and checks a deadline between
pages, rows and paragraphs; in the main thread a SIGALRM timer also interrupts a library stuck
inside one page. A file that is too big, a zip bomb, an encrypted or broken file is skipped with
a reason instead of raising: extraction never fails an import.
"""

from __future__ import annotations

import csv
import io
import logging
import signal
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .charsets import decode_bytes
from .message import Attachment

__all__ = ["AttachmentText", "ExtractLimits", "extract_attachments", "extract_text"]

log = logging.getLogger(__name__)

# pypdf warns on every slightly broken PDF (most real ones); its warnings are not our defects.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ExtractLimits:
    """Bounds for one attachment."""

    max_bytes: int = 25 * 1024 * 1024  # bigger files are not read at all
    max_unzipped: int = 200 * 1024 * 1024  # XLSX/DOCX whose parts inflate past this are zip bombs
    max_chars: int = 300_000  # text kept per attachment
    max_pages: int = 300  # PDF pages read
    max_rows: int = 20_000  # spreadsheet rows read (all sheets together)
    seconds: float = 10.0  # wall-clock budget


@dataclass(frozen=True)
class AttachmentText:
    """The text of one attachment and how reading it went.

    ``status`` is "ok", "empty" (readable, no text: a scanned PDF), "truncated: …",
    "skipped: …" (not read: too big, unsupported type) or "failed: …" (damaged, encrypted,
    too slow).
    """

    filename: str
    content_type: str
    text: str
    status: str

    @property
    def is_indexed(self) -> bool:
        return bool(self.text)


class _Timeout(BaseException):
    """Time is up (a BaseException, so that libraries catching Exception do not swallow it)."""


class _Budget:
    """Characters and time left for one attachment."""

    def __init__(self, limits: ExtractLimits, charset: str | None = None) -> None:
        self.limits = limits
        self.charset = charset  # declared by the MIME part, for text formats
        self.deadline = time.monotonic() + limits.seconds
        self.parts: list[str] = []
        self.chars = 0
        self.truncated = ""

    def add(self, text: str) -> bool:
        """Keep ``text``; False once the character budget is spent (stop reading)."""
        if time.monotonic() > self.deadline:
            raise _Timeout
        text = text.strip()
        if not text:
            return True
        room = self.limits.max_chars - self.chars
        if len(text) >= room:
            self.parts.append(text[:room])
            self.chars = self.limits.max_chars
            self.truncated = f"truncated: text over {self.limits.max_chars} characters"
            return False
        self.parts.append(text)
        self.chars += len(text) + 1
        return True

    def stop(self, reason: str) -> None:
        self.truncated = f"truncated: {reason}"

    def text(self) -> str:
        return "\n".join(self.parts)


# --- the kinds ------------------------------------------------------------------------------


def _pdf(data: bytes, budget: _Budget) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            if not reader.decrypt(""):  # many "protected" PDFs open with the empty password
                raise ValueError("encrypted PDF")
        except Exception as exc:
            raise ValueError("encrypted PDF") from exc
    for number, page in enumerate(reader.pages):
        if number >= budget.limits.max_pages:
            budget.stop(f"only the first {budget.limits.max_pages} pages read")
            return
        if not budget.add(page.extract_text() or ""):
            return


def _check_zip(data: bytes, limits: ExtractLimits) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        total = sum(info.file_size for info in archive.infolist())
    if total > limits.max_unzipped:
        raise _Skip(f"unpacks to {total // (1024 * 1024)} MB (over {limits.max_unzipped // (1024 * 1024)} MB)")


def _xlsx(data: bytes, budget: _Budget) -> None:
    from openpyxl import load_workbook

    _check_zip(data, budget.limits)
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        rows = 0
        for sheet in workbook.worksheets:
            if not budget.add(str(sheet.title)):
                return
            for row in sheet.iter_rows(values_only=True):
                rows += 1
                if rows > budget.limits.max_rows:
                    budget.stop(f"only the first {budget.limits.max_rows} rows read")
                    return
                if not budget.add(" ".join(_cell(v) for v in row if v is not None)):
                    return
    finally:
        workbook.close()


def _xls(data: bytes, budget: _Budget) -> None:
    import xlrd

    book = xlrd.open_workbook(file_contents=data, on_demand=True)
    try:
        rows = 0
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            if not budget.add(sheet.name):
                return
            for r in range(sheet.nrows):
                rows += 1
                if rows > budget.limits.max_rows:
                    budget.stop(f"only the first {budget.limits.max_rows} rows read")
                    return
                values = [_cell(v) for v in sheet.row_values(r) if v not in ("", None)]
                if not budget.add(" ".join(values)):
                    return
            book.unload_sheet(index)
    finally:
        book.release_resources()


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 12500.0 -> "12500", as the sheet shows it
    return str(value)


def _docx(data: bytes, budget: _Budget) -> None:
    from docx import Document

    _check_zip(data, budget.limits)
    document = Document(io.BytesIO(data))
    for paragraph in document.paragraphs:
        if not budget.add(paragraph.text):
            return
    for table in document.tables:
        for row in table.rows:
            # Merged cells repeat in python-docx; keep each distinct cell text once per row.
            cells = dict.fromkeys(cell.text for cell in row.cells)
            if not budget.add(" ".join(cells)):
                return


def _decode(data: bytes, charset: str | None) -> str:
    return decode_bytes(data, charset, None).text


def _plain(data: bytes, budget: _Budget) -> None:
    budget.add(_decode(data[: budget.limits.max_chars * 4], budget.charset))


def _csv(data: bytes, budget: _Budget) -> None:
    text = _decode(data[: budget.limits.max_chars * 4], budget.charset)
    for number, row in enumerate(csv.reader(io.StringIO(text, newline=""))):
        if number >= budget.limits.max_rows:
            budget.stop(f"only the first {budget.limits.max_rows} rows read")
            return
        if not budget.add(" ".join(cell for cell in row if cell)):
            return


def _html(data: bytes, budget: _Budget) -> None:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data[: budget.limits.max_chars * 8], budget.charset), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    budget.add("\n".join(line.strip() for line in soup.get_text("\n").splitlines() if line.strip()))


class _Skip(Exception):
    """Not read on purpose (the reason is the message)."""


_Extractor = Callable[[bytes, _Budget], None]

_BY_EXTENSION: dict[str, _Extractor] = {
    "pdf": _pdf,
    "xlsx": _xlsx, "xlsm": _xlsx,
    "xls": _xls,
    "docx": _docx, "docm": _docx,
    "csv": _csv,
    "txt": _plain, "text": _plain, "md": _plain, "log": _plain,
    "htm": _html, "html": _html,
}  # fmt: skip
_BY_TYPE: dict[str, _Extractor] = {
    "application/pdf": _pdf,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _xlsx,
    "application/vnd.ms-excel": _xls,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _docx,
    "text/csv": _csv,
    "text/plain": _plain,
    "text/html": _html,
}


def _extractor(filename: str, content_type: str, data: bytes) -> _Extractor | None:
    # The bytes decide first: mail clients often send application/octet-stream, and file names lie.
    if data.startswith(b"%PDF-"):
        return _pdf
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    found = _BY_EXTENSION.get(ext) or _BY_TYPE.get(content_type.lower())
    if found is None and content_type.lower().startswith("text/"):
        found = _plain
    return found


# --- time limit -------------------------------------------------------------------------------


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` with _Timeout (main thread only, where signals go;
    elsewhere the budget's checks between pages and rows are the limit)."""
    usable = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not usable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:  # someone else's timer: leave it
        yield
        return

    def expired(signum, frame):
        # Raised inside a garbage collector callback, the exception is swallowed: ring again
        # shortly until it lands in the extractor's own code.
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- public API --------------------------------------------------------------------------------


def extract_text(
    data: bytes,
    filename: str = "",
    content_type: str = "",
    limits: ExtractLimits = ExtractLimits(),
    charset: str | None = None,
) -> tuple[str, str]:
    """(text, status) of one attachment's bytes; see :class:`AttachmentText` for the statuses.

    Never raises for bad input: damaged, hostile and unsupported files give a status instead.
    """
    if not data:
        return "", "empty"
    extractor = _extractor(filename, content_type, data)
    if extractor is None:
        return "", f"skipped: no text extractor for {content_type or 'this type'}"
    if len(data) > limits.max_bytes:
        return "", f"skipped: {len(data) // (1024 * 1024)} MB is over the {limits.max_bytes // (1024 * 1024)} MB limit"
    budget = _Budget(limits, charset)
    try:
        with _alarm(limits.seconds):
            extractor(data, budget)
    except _Skip as exc:
        return "", f"skipped: {exc}"
    except _Timeout:
        budget.stop(f"reading took over {limits.seconds:g} s")
        if not budget.parts:
            return "", f"failed: reading took over {limits.seconds:g} s"
    except RecursionError:
        return "", "failed: nested too deeply"
    except MemoryError:
        return "", "failed: out of memory"
    except Exception as exc:  # every library raises its own kinds for damaged files
        log.debug("cannot read %s: %s: %s", filename, type(exc).__name__, exc)
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        text = budget.text()
        if text:
            return text, f"truncated: damaged after {len(text)} characters ({reason})"
        return "", f"failed: {reason}"
    text = budget.text()
    if budget.truncated:
        return text, budget.truncated
    return text, "ok" if text else "empty"


def extract_attachments(
    attachments: tuple[Attachment, ...], limits: ExtractLimits = ExtractLimits()
) -> tuple[AttachmentText, ...]:
    """The text of each attachment, in order (one entry per attachment)."""
    out = []
    for a in attachments:
        if a.content_type.startswith("message/"):
            # A forwarded message's text is part of the body already (see parse.py).
            out.append(AttachmentText(a.filename, a.content_type, "", "ok: forwarded message, indexed with the body"))
            continue
        if not a.data and a.size > limits.max_bytes:  # too big to be handed over at all (ingest.bulky)
            mb = limits.max_bytes // (1024 * 1024)
            out.append(AttachmentText(a.filename, a.content_type, "",
                                      f"skipped: {a.size // (1024 * 1024)} MB is over the {mb} MB limit"))
            continue
        text, status = extract_text(a.data, a.filename, a.content_type, limits, a.charset)
        out.append(AttachmentText(a.filename, a.content_type, text, status))
    return tuple(out)
