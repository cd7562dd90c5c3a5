#!/usr/bin/env python3
"""What each index engine costs per document, for Dossier's own documents: Whoosh and tantivy.

Reads up to --limit messages from a Maildir (or any source ``dossier import`` reads), builds their
index ``Document``s once in memory (parse + extract + build, timed apart), then indexes the same
documents, each into a fresh temporary index:

* whoosh-ours: Dossier's Whoosh engine and writer exactly as the importer's child writer uses them
  (``open_writer(limitmb)``, ``add_new`` per document, ``commit(merge=None)`` every --commit-every),
  with add and commit timed apart; beside it our analyzer alone (``field.index`` over every text
  field, as Whoosh's writer calls it) and the same for every indexed field;
* whoosh-stock: Whoosh's floor, a schema of subject and body only with the stock StandardAnalyzer;
* tantivy-ours: Dossier's tantivy engine and writer as an import uses them (Dossier's tokens,
  pre-tokenized; a commit every --commit-every); beside it producing those tokens alone;
* tantivy-raw: tantivy's floor, the same fields with its default tokenizer on the raw text.
  One indexing thread, as the importer gives the index writer one core.

Every measurement runs --repeat times (the documents are rebuilt each time, the last build is
indexed). Wall and process CPU time (all threads) per document are reported; on a shared machine
CPU time is the steadier of the two. Not part of the test run.

    .venv/bin/python scripts/bench_engines.py MAILDIR [--limit 2000] [--repeat 2] [--json]

"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index import Document, SearchIndex, build_document  # noqa: E402
from index.analysis import index_positions, iter_tokens  # noqa: E402  (what the writers are fed)
from index.whoosh_engine import make_schema  # noqa: E402
from index.whoosh_engine import whoosh_fields as _fields  # noqa: E402  (the writer's own field mapping)
from ingest import RawItem, extract_attachments, hash_bytes, iter_source, parse_message, read_message  # noqa: E402

#: The importer's Whoosh child writer (index.whoosh_worker) and its commit interval
#: (index.whoosh_engine.CHILD_COMMIT_EVERY).
LIMITMB = 256
COMMIT_EVERY = 1000
#: tantivy's writer heap; the importer's Whoosh writer may hold LIMITMB of postings.
TANTIVY_HEAP = LIMITMB * 1024 * 1024

_TEXT_FIELDS = ("subject", "body", "quoted", "sender", "recipients", "to", "cc", "attachment", "attachment_text")
_STORED_TEXT = {"subject", "body", "quoted", "sender", "attachment", "attachment_text"}
_KEYWORD_FIELDS = ("from_addr", "to_addr", "cc_addr", "addr", "domain", "customer", "folder", "account", "lang", "flag")
_STORED_ONLY = ("attachment_text_names", "quote_terms", "quote_files", "amounts")


@dataclass
class Measure:
    name: str
    run: int
    docs: int
    wall_s: float
    cpu_s: float
    parts: dict[str, float] = field(default_factory=dict)  # seconds of named parts (wall)
    note: str = ""

    @property
    def wall_ms_per_doc(self) -> float:
        return 1000 * self.wall_s / self.docs if self.docs else 0.0

    @property
    def cpu_ms_per_doc(self) -> float:
        return 1000 * self.cpu_s / self.docs if self.docs else 0.0

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.wall_s if self.wall_s else 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out.update(
            wall_ms_per_doc=round(self.wall_ms_per_doc, 3),
            cpu_ms_per_doc=round(self.cpu_ms_per_doc, 3),
            docs_per_s=round(self.docs_per_s, 1),
        )
        return out


class _Clock:
    """Wall and process CPU time (every thread of this process) of a block."""

    def __enter__(self) -> _Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the documents ------------------------------------------------------------------

def read_items(path: Path, limit: int) -> list[RawItem]:
    items: list[RawItem] = []
    for item in iter_source(path):
        items.append(item)
        if len(items) >= limit:
            break
    return items


def build_documents(items: Sequence[RawItem]) -> tuple[list[Document], dict[str, float], int]:
    """Each item's Document as the importer builds it (config.pipeline: parse, then
    extract_attachments, then read_message and build_document); no customers (linking needs the database)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    docs: list[Document] = []
    parse_s = extract_s = build_s = 0.0
    failed = 0
    for item in items:
        t0 = time.perf_counter()
        try:
            parsed = parse_message(item.data)
        except Exception:  # stored as failed by the importer: no document
            failed += 1
            continue
        t1 = time.perf_counter()
        texts = extract_attachments(parsed.attachments)
        t2 = time.perf_counter()
        docs.append(
            build_document(
                hash_bytes(item.data),
                parsed,
                read_message(parsed, texts),
                date=parsed.date.replace(tzinfo=None) if parsed.date else now,
                folders=[item.folder],
                accounts=["local"],
            )
        )
        t3 = time.perf_counter()
        parse_s, extract_s, build_s = parse_s + t1 - t0, extract_s + t2 - t1, build_s + t3 - t2
    return docs, {"parse": parse_s, "extract": extract_s, "build": build_s}, failed


# --- Whoosh -------------------------------------------------------------------------

def measure_analysis(docs: Sequence[Document], run: int) -> list[Measure]:
    """Our schema's per-field indexing (``field.index``: analysis and posting encoding, what
    Whoosh's writer asks of each field before it pools the postings), text fields and all."""
    schema = make_schema()
    rows = [_fields(doc) for doc in docs]
    out = []
    for name, names in (
        ("analyzer: text fields", _TEXT_FIELDS),
        ("analyzer: all indexed fields", tuple(n for n in schema.names() if schema[n].indexed)),
    ):
        terms = 0
        with _Clock() as clock:
            for row in rows:
                for fname in names:
                    value = row[fname]
                    if value:
                        terms += sum(1 for _ in schema[fname].index(value))
        out.append(Measure(name, run, len(docs), clock.wall, clock.cpu, note=f"{terms / len(docs):.0f} terms/doc"))
    # The same analysis without Whoosh's posting encoding: terms and positions only.
    with _Clock() as clock:
        for row in rows:
            for fname in _TEXT_FIELDS:
                if row[fname]:
                    index_positions(row[fname], True)
    out.insert(0, Measure("analyzer: text fields, terms+positions only", run, len(docs), clock.wall, clock.cpu))
    return out


def warm_up() -> None:
    """Build the analyzer's one-off tables (character classes, the OpenCC table) untimed."""
    body = make_schema()["body"]
    for mode in ("index", "query"):
        list(body.index("報價單 Straße ＡＢＣ１２３ quotation", mode=mode))
        list(body.analyzer("報價單 Straße ＡＢＣ１２３ quotation", mode=mode))


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench_whoosh_ours(docs: Sequence[Document], run: int, commit_every: int, limitmb: int) -> Measure:
    work = Path(tempfile.mkdtemp(prefix="bench-whoosh-"))
    try:
        index = SearchIndex(work / "index", engine="whoosh")
        index.create()
        open_s = add_s = commit_s = 0.0
        with _Clock() as clock:
            for chunk in _chunks(docs, commit_every):  # as index.whoosh_worker._run_writer does
                t0 = time.perf_counter()
                writer = index.engine.open_writer(limitmb=limitmb)
                t1 = time.perf_counter()
                for doc in chunk:
                    writer.add_new(doc)
                t2 = time.perf_counter()
                writer.commit(merge=None)
                t3 = time.perf_counter()
                open_s, add_s, commit_s = open_s + t1 - t0, add_s + t2 - t1, commit_s + t3 - t2
        size = _du(work / "index")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Measure(
        "whoosh-ours", run, len(docs), clock.wall, clock.cpu,
        parts={"open": open_s, "add": add_s, "commit": commit_s}, note=f"index {size / 1e6:.1f} MB",
    )  # fmt: skip


def bench_whoosh_stock(docs: Sequence[Document], run: int, commit_every: int, limitmb: int) -> Measure:
    from whoosh.analysis import StandardAnalyzer
    from whoosh.fields import TEXT, Schema
    from whoosh.filedb.filestore import FileStorage

    work = Path(tempfile.mkdtemp(prefix="bench-whoosh-stock-"))
    try:
        schema = Schema(subject=TEXT(analyzer=StandardAnalyzer()), body=TEXT(analyzer=StandardAnalyzer()))
        ix = FileStorage(str(work)).create_index(schema)
        add_s = commit_s = 0.0
        with _Clock() as clock:
            for chunk in _chunks(docs, commit_every):
                t0 = time.perf_counter()
                writer = ix.writer(limitmb=limitmb)
                for doc in chunk:
                    writer.add_document(subject=doc.subject, body=doc.body)
                t1 = time.perf_counter()
                writer.commit(merge=False)
                t2 = time.perf_counter()
                add_s, commit_s = add_s + t1 - t0, commit_s + t2 - t1
        size = _du(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Measure(
        "whoosh-stock (subject+body, StandardAnalyzer)", run, len(docs), clock.wall, clock.cpu,
        parts={"add": add_s, "commit": commit_s}, note=f"index {size / 1e6:.1f} MB",
    )  # fmt: skip


# --- tantivy ------------------------------------------------------------------------

def our_tokens(docs: Sequence[Document], run: int) -> Measure:
    """Producing Dossier's index-mode tokens of every text field (what the tantivy engine feeds)."""
    tokens = 0
    with _Clock() as clock:
        for doc in docs:
            row = _fields(doc)
            for fname in _TEXT_FIELDS:
                if row[fname]:
                    tokens += sum(1 for _ in iter_tokens(row[fname], offsets=False))
    note = f"{tokens / len(docs):.0f} tokens/doc"
    return Measure("our tokens for tantivy (iter_tokens)", run, len(docs), clock.wall, clock.cpu, note=note)


def bench_tantivy_ours(docs: Sequence[Document], run: int, commit_every: int) -> Measure:
    work = Path(tempfile.mkdtemp(prefix="bench-tantivy-ours-"))
    try:
        index = SearchIndex(work / "index", engine="tantivy")
        index.create()
        add_s = commit_s = 0.0
        with _Clock() as clock:
            for chunk in _chunks(docs, commit_every):  # as the import's feed does
                t0 = time.perf_counter()
                writer = index.open_writer()
                for doc in chunk:
                    writer.add_new(doc)
                t1 = time.perf_counter()
                writer.commit()  # waits for the indexing thread: add and commit overlap
                t2 = time.perf_counter()
                add_s, commit_s = add_s + t1 - t0, commit_s + t2 - t1
        size = _du(work / "index")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Measure(
        "tantivy-ours (Dossier's tokens)", run, len(docs), clock.wall, clock.cpu,
        parts={"add": add_s, "commit": commit_s}, note=f"index {size / 1e6:.1f} MB",
    )  # fmt: skip


def bench_tantivy_raw(tantivy, docs: Sequence[Document], run: int, commit_every: int) -> Measure:
    """tantivy's floor: its own tokenizer on the raw text (no CJK bigrams, no folding)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_date_field("date", stored=True, indexed=True, fast=True)
    for fname in _TEXT_FIELDS:
        builder.add_text_field(fname, stored=fname in _STORED_TEXT, tokenizer_name="default")
    for fname in _KEYWORD_FIELDS:
        builder.add_text_field(fname, stored=True, tokenizer_name="raw", index_option="basic")
    for fname in _STORED_ONLY:  # tantivy has no stored-only text: the least indexing there is
        builder.add_text_field(fname, stored=True, tokenizer_name="raw", index_option="basic")
    schema = builder.build()

    work = Path(tempfile.mkdtemp(prefix="bench-tantivy-"))
    try:
        ix = tantivy.Index(schema, path=str(work))
        add_s = commit_s = 0.0
        with _Clock() as clock:
            writer = ix.writer(heap_size=TANTIVY_HEAP, num_threads=1)
            for start in range(0, len(docs), commit_every):
                t0 = time.perf_counter()
                for i in range(start, min(start + commit_every, len(docs))):
                    row = _fields(docs[i])
                    texts = row
                    tdoc = tantivy.Document()
                    tdoc.add_text("id", row["id"])
                    tdoc.add_date("date", row["date"])
                    for fname in _TEXT_FIELDS:
                        if texts[fname]:
                            tdoc.add_text(fname, texts[fname])
                    for fname in _KEYWORD_FIELDS:  # as Whoosh's KEYWORD(commas=True, lowercase=True)
                        for value in row[fname].split(","):
                            if value.strip():
                                tdoc.add_text(fname, value.strip().lower())
                    for fname in _STORED_ONLY:
                        for value in row[fname]:
                            tdoc.add_text(fname, str(value))
                    writer.add_document(tdoc)
                t1 = time.perf_counter()
                writer.commit()  # waits for the indexing thread: add and commit overlap
                t2 = time.perf_counter()
                add_s, commit_s = add_s + t1 - t0, commit_s + t2 - t1
            writer.wait_merging_threads()
        size = _du(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Measure(
        "tantivy-raw (default tokenizer, raw text)", run, len(docs), clock.wall, clock.cpu,
        parts={"add": add_s, "commit": commit_s}, note=f"index {size / 1e6:.1f} MB",
    )  # fmt: skip


def _import_tantivy():
    try:
        import tantivy
    except ImportError:
        return None
    return tantivy


# --- the run ------------------------------------------------------------------------

def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def run(args: argparse.Namespace, say: Callable[[str], None]) -> dict:
    with _Clock() as read_clock:
        items = read_items(Path(args.maildir), args.limit)
    if not items:
        raise SystemExit(f"no messages under {args.maildir}")
    say(f"read {len(items)} messages in {read_clock.wall:.2f} s")
    tantivy = _import_tantivy()
    if tantivy is None:
        say("tantivy not installed; skipped")
    warm_up()
    measures: list[Measure] = []
    failed = 0
    for run_no in range(1, args.repeat + 1):
        with _Clock() as clock:
            docs, parts, failed = build_documents(items)
        measures.append(Measure("build documents (parse+extract+build)", run_no, len(items), clock.wall, clock.cpu,
                                parts=parts, note=f"{failed} failed to parse"))  # fmt: skip
        measures.extend(measure_analysis(docs, run_no))
        measures.append(bench_whoosh_ours(docs, run_no, args.commit_every, args.limitmb))
        measures.append(bench_whoosh_stock(docs, run_no, args.commit_every, args.limitmb))
        measures.append(our_tokens(docs, run_no))
        measures.append(bench_tantivy_ours(docs, run_no, args.commit_every))
        if tantivy is not None:
            measures.append(bench_tantivy_raw(tantivy, docs, run_no, args.commit_every))
        for m in measures:
            if m.run == run_no:
                say(_line(m))
    return {
        "source": str(args.maildir),
        "messages": len(items),
        "documents": len(items) - failed,
        "read_s": round(read_clock.wall, 3),
        "commit_every": args.commit_every,
        "limitmb": args.limitmb,
        "versions": {
            "python": platform.python_version(),
            "whoosh-reloaded": _version("whoosh-reloaded"),
            "tantivy": _version("tantivy") if tantivy is not None else "not installed",
        },
        "cpus": os.cpu_count(),
        "loadavg_at_end": os.getloadavg(),
        "measures": [m.as_dict() for m in measures],
    }


def _line(m: Measure) -> str:
    parts = " ".join(f"{k}={1000 * v / m.docs:.2f}" for k, v in m.parts.items())
    return (
        f"  run {m.run}  {m.name:<46} {m.wall_ms_per_doc:8.3f} ms/doc wall  {m.cpu_ms_per_doc:8.3f} ms/doc cpu"
        f"  {m.docs_per_s:9.1f} docs/s" + (f"  [{parts} ms/doc]" if parts else "") + (f"  {m.note}" if m.note else "")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("maildir", type=Path)
    parser.add_argument("--limit", type=int, default=2000, help="messages to read (default 2000)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of every measurement (default 2)")
    parser.add_argument("--commit-every", type=int, default=COMMIT_EVERY)
    parser.add_argument("--limitmb", type=int, default=LIMITMB)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    quiet = args.json
    report = run(args, (lambda s: print(s, file=sys.stderr)) if quiet else print)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(json.dumps(report["versions"]), f"load average at end {report['loadavg_at_end']}")


if __name__ == "__main__":
    main()
