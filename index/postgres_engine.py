"""The postgres engine: the search index in the archive's own PostgreSQL database.

Every node of an archive on PostgreSQL searches the same, always current index, and read
replicas can take the searching (``[database] read_url``). Each document is one row: its
stored fields (JSON) and one ``tsvector`` of Dossier's own tokens (:mod:`index.analysis`, as the
other engines get them), never PostgreSQL's text search parser. A token becomes the lexeme
``<field><chunk>:<term>`` (``b:price``, ``s:报价``; keyword values ``F:ann@acme.com``), with its
position, so a phrase is a ``<->`` chain, and ``from:acme.com`` looks up the host lexemes
``F@:acme.com`` / ``F.:acme.com`` written for every address.

PostgreSQL keeps at most 256 positions per lexeme, none above 16,383, and 1 MB per tsvector.
So a long field is cut into chunks of at most :data:`CHUNK` positions, a new one also where a
lexeme would get its 257th position in the chunk (the lexemes of chunk 2 of the body are
``b2:…``); each chunk starts :data:`OVERLAP` positions before its seam, so that a phrase across
it lies whole in one chunk. A query looks in as many chunks as the longest document has (the
``…_meta`` table keeps that count per field). A document whose lexemes would outgrow
:data:`TSVECTOR_BUDGET` keeps the fields that come first in :data:`FIELD_ORDER` whole and loses the
end of the rest: it is marked ``truncated``, logged, and counted by :meth:`PostgresEngine.truncated`.

Newest-first pages on a common term: with the RUM extension (Debian ``postgresql-15-rum``) the
index holds each document's order key and returns the newest matches without reading the others;
without it a GIN index finds the matches and PostgreSQL sorts them (``…_meta`` records which).

The live index is the table ``search_documents``; a rebuild (``SearchIndex.rebuild``, whose
directory ends in ``.new``) fills ``search_documents_new`` and :meth:`PostgresEngine.promote`
puts it in place in one transaction, under the readers' feet.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from . import plan as p
from .analysis import index_tokens
from .document import Document
from .engine import MARKER, Engine, EngineWriter, Feed, IndexDatabase, OnCommitted, Page, StoredHit, WriterFeed
from .errors import SearchIndexError
from .fields import (
    STEMMED_FIELDS,
    STORED_TEXT_FIELDS,
    TEXT_FIELDS,
    keyword_lists,
    keyword_terms,
    stored_values,
    text_values,
    traits_of,
)
from .postgres_query import ADDRESS_FIELDS, KEYWORD_PREFIX, TEXT_PREFIX, Compiler, cut, namespace, quote

log = logging.getLogger(__name__)

LIVE_TABLE = "search_documents"
#: Positions per chunk of a field at most, and the positions a chunk repeats of the one before
#: (a phrase of up to that many words across the seam is found whole in the later chunk).
CHUNK = 2048
OVERLAP = 64
#: PostgreSQL's limits: positions kept per lexeme, bytes per tsvector.
MAX_POSITIONS = 256
TSVECTOR_BUDGET = 900_000
#: Documents between the commits of a long run (each commit makes them searchable).
COMMIT_EVERY = 500
#: Rows per INSERT statement batch.
_FLUSH_EVERY = 200

#: Each field's tsvector weight (A: subject, B: sender, D: quoted, C: the rest), and the order in
#: which a document too large for one tsvector keeps its fields.
_WEIGHT = {"subject": "A", "sender": "B", "quoted": "D"}
FIELD_ORDER = tuple(TEXT_PREFIX)
#: ts_rank's weights for D, C, B, A: the fields' boosts of index.fields (quoted 0.3, body 1,
#: sender 1.5, subject 3), scaled into ts_rank's range.
_RANK_WEIGHTS = "{%s}" % ",".join(str(TEXT_FIELDS[f] / 5) for f in ("quoted", "body", "sender", "subject"))

_EPOCH = datetime(1970, 1, 1)
#: The order key "newest first" sorts by: the date's second, then (the same second) the later
#: added first, as the other engines order them. It stays below 2**53 until the year 2242, so
#: RUM, which measures its distances as doubles, orders every key of a real date exactly.
_SEQ_BITS = 20
_NEWEST_CEILING = 2 ** 53


def _newest(date: datetime, seq: int) -> int:
    return ((date - _EPOCH) // timedelta(seconds=1) << _SEQ_BITS) + (seq & ((1 << _SEQ_BITS) - 1))


# --- documents as rows --------------------------------------------------------------------------


class _Lexemes:
    """The lexemes of one document with their positions, within the tsvector budget."""

    def __init__(self) -> None:
        self.positions: dict[str, list[str]] = {}
        self.size = 0
        self.chunks: dict[str, int] = {}  # field prefix -> chunks written
        self.truncated = False

    def add(self, lexeme: str, position: str | None = None) -> bool:
        entry = self.positions.get(lexeme)
        if entry is None:
            cost = len(lexeme.encode()) + 8
            if self.size + cost > TSVECTOR_BUDGET:
                self.truncated = True
                return False
            self.size += cost
            entry = self.positions[lexeme] = []
        if position is not None and len(entry) < MAX_POSITIONS:
            if self.size + 2 > TSVECTOR_BUDGET:
                self.truncated = True
                return False
            entry.append(position)
            self.size += 2
        return True

    def add_text(self, prefix: str, weight: str, value: str, stems: bool) -> None:
        """The tokens of one field (with ``stems``, English stems beside the words, as the other
        engines index them), in chunks: a chunk ends before :data:`CHUNK` positions, or before a
        lexeme's 257th position in it (a table of prices repeats "USD" that often), and the next
        one starts again :data:`OVERLAP` positions back, so a phrase across the seam lies whole in
        one chunk."""
        chunk, first = 0, None  # the chunk being written and the position it starts at
        counts: dict[str, int] = {}
        recent: deque[tuple[str, int]] = deque()  # the last OVERLAP positions' tokens
        for term, pos in zip(*index_tokens(value, stems=stems), strict=True):
            term = cut(term)
            if first is None:
                first = pos
            if pos - first >= CHUNK or counts.get(term, 0) >= MAX_POSITIONS:
                chunk, counts = chunk + 1, {}
                while recent and recent[0][1] < pos - OVERLAP:
                    recent.popleft()
                first = recent[0][1] if recent else pos
                for seen, seen_pos in recent:
                    if not self._position(prefix, chunk, seen, seen_pos - first, weight, counts):
                        return
            if not self._position(prefix, chunk, term, pos - first, weight, counts):
                return
            recent.append((term, pos))
            while recent[0][1] < pos - OVERLAP:
                recent.popleft()
        if first is not None:
            self.chunks[prefix] = chunk + 1

    def _position(self, prefix: str, chunk: int, term: str, offset: int, weight: str, counts: dict[str, int]) -> bool:
        counts[term] = counts.get(term, 0) + 1
        if not self.add(namespace(prefix, chunk) + term, f"{offset + 1}{weight}"):
            self.chunks[prefix] = max(self.chunks.get(prefix, 0), chunk + 1)
            return False
        return True

    def tsvector(self) -> str:
        return " ".join(quote(lexeme) + (":" + ",".join(positions) if positions else "")
                        for lexeme, positions in self.positions.items())


def _hosts(address: str) -> Iterator[str]:
    """The lexeme parts that ``*@host`` and ``*.suffix`` match of an address: ``@:host`` and
    ``.:suffix`` for every dot of the host (no suffix of the local part: a pattern's suffix is a
    domain, it holds no "@")."""
    local, at, host = address.rpartition("@")
    if not at or not host:
        return
    yield "@:" + host
    for i, ch in enumerate(host):
        if ch == ".":
            yield ".:" + host[i + 1:]


def _row(doc: Document) -> dict:
    lexemes = _Lexemes()
    texts = text_values(doc)
    for name in FIELD_ORDER:
        if texts[name]:
            lexemes.add_text(TEXT_PREFIX[name], _WEIGHT.get(name, "C"), texts[name], name in STEMMED_FIELDS)
    keywords = {}
    for name, values in keyword_lists(doc).items():
        terms = keyword_terms(values)
        keywords[name] = terms
        prefix = KEYWORD_PREFIX[name]
        for term in terms:
            lexemes.add(cut(f"{prefix}:{term}"))
            if name in ADDRESS_FIELDS:
                for host in _hosts(term):
                    lexemes.add(cut(prefix + host))
            elif name == "domain":
                for i, ch in enumerate(term):
                    if ch == ".":
                        lexemes.add(cut(f"{prefix}.:{term[i + 1:]}"))
    stored = {name: texts[name] for name in STORED_TEXT_FIELDS}
    stored.update(stored_values(doc), traits=traits_of(doc.is_bulk, bool(doc.customers)))
    if lexemes.truncated:
        log.warning("message %s has more text than one index row holds; the end of its longest fields is not "
                    "searchable with the postgres engine", doc.id[:12])
    return {"id": doc.id, "date": doc.date, "customers": list(doc.customers), "tsv": lexemes.tsvector(),
            # JSON escapes what PostgreSQL's text refuses (NUL); stored as it is, read back exactly.
            "stored": json.dumps(stored, ensure_ascii=False), "keywords": json.dumps(keywords, ensure_ascii=False),
            "truncated": lexemes.truncated, "chunks": lexemes.chunks}


# --- the engine -------------------------------------------------------------------------------


def _errors(path: Path):
    """PostgreSQL's errors while searching or writing, as SearchIndexError with the fix."""
    from contextlib import contextmanager

    @contextmanager
    def wrapped():
        try:
            yield
        except ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) == "42P01":  # undefined_table
                raise SearchIndexError("the search index in the archive's database is missing; run "
                                       "`dossier reindex` to rebuild it from the stored messages") from exc
            raise SearchIndexError(f"the search index in the archive's database cannot be used "
                                   f"({_first_line(exc)})") from exc
        except (OperationalError, DBAPIError) as exc:
            raise SearchIndexError(f"the search index in the archive's database cannot be reached "
                                   f"({_first_line(exc)})") from exc

    return wrapped()


def _is_missing_table(exc: BaseException) -> bool:
    cause = exc.__cause__
    return getattr(getattr(cause, "orig", None), "sqlstate", None) == "42P01"  # undefined_table


def _first_line(exc: Exception) -> str:
    return next((line for line in str(getattr(exc, "orig", None) or exc).splitlines() if line.strip()), "")


class PostgresWriter(EngineWriter):
    """Documents written in one transaction of the writing connection, committed together."""

    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine
        self._connection = engine._writes().connect()
        self._transaction = self._connection.begin()
        self._rows: list[tuple[dict, bool]] = []  # (row, replace)
        self._chunks: dict[str, int] = {}
        self.count = 0

    def put(self, doc: Document) -> None:
        self._add(doc, replace=True)

    def add_new(self, doc: Document) -> None:
        self._add(doc, replace=False)

    def _add(self, doc: Document, *, replace: bool) -> None:
        row = _row(doc)
        for prefix, chunks in row.pop("chunks").items():
            self._chunks[prefix] = max(self._chunks.get(prefix, 0), chunks)
        self._rows.append((row, replace))
        self.count += 1
        if len(self._rows) >= _FLUSH_EVERY:
            self._flush()

    def delete(self, doc_id: str) -> None:
        self._flush()
        with _errors(self._engine.path):
            self._connection.execute(text(f"DELETE FROM {self._engine.table} WHERE id = :id"), {"id": doc_id})

    def _flush(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        table = self._engine.table
        with _errors(self._engine.path):
            seqs = self._connection.execute(text(f"SELECT nextval('{table}_seq') FROM generate_series(1, :n)"),
                                            {"n": len(rows)}).scalars().all()
            values = [{**row, "seq": seq, "newest": _newest(row["date"], seq)}
                      for (row, _), seq in zip(rows, seqs, strict=True)]
            insert = (f"INSERT INTO {table} (id, seq, date, newest, customers, tsv, stored, keywords, truncated) "
                      "VALUES (:id, :seq, :date, :newest, :customers, CAST(:tsv AS tsvector), :stored, "
                      "CAST(:keywords AS jsonb), :truncated)")
            # A replaced document gets a new place in "newest first" among documents of its second,
            # as the other engines give it (added again: the later).
            upsert = insert + (" ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, date = EXCLUDED.date, "
                               "newest = EXCLUDED.newest, customers = EXCLUDED.customers, tsv = EXCLUDED.tsv, "
                               "stored = EXCLUDED.stored, keywords = EXCLUDED.keywords, truncated = EXCLUDED.truncated")
            new = [v for v, (_, replace) in zip(values, rows, strict=True) if not replace]
            replaced = [v for v, (_, replace) in zip(values, rows, strict=True) if replace]
            if new:
                self._connection.execute(text(insert), new)
            if replaced:
                self._connection.execute(text(upsert), replaced)

    def commit(self) -> None:
        try:
            self._flush()
            with _errors(self._engine.path):
                for prefix, chunks in self._chunks.items():
                    self._connection.execute(text(
                        f"INSERT INTO {self._engine.table}_meta (key, value) VALUES (:key, :value) "
                        f"ON CONFLICT (key) DO UPDATE SET value = greatest({self._engine.table}_meta.value, "
                        "EXCLUDED.value)"), {"key": "chunks:" + prefix, "value": chunks})
                self._transaction.commit()
        except BaseException:
            self.cancel()
            raise
        self._connection.close()
        self._engine._forget_meta()

    def cancel(self) -> None:
        self._rows = []
        try:
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self._connection.close()


class PostgresEngine(Engine):
    name = "postgres"
    schema_version = 1
    in_database = True

    def __init__(self, path: Path, *, database: IndexDatabase | None = None) -> None:
        super().__init__(path, database=database)
        if database is None or not database.url.startswith("postgresql"):
            raise SearchIndexError('the "postgres" index engine keeps the index in the archive\'s PostgreSQL '
                                   'database, and this archive\'s database is not PostgreSQL; choose "tantivy" or '
                                   '"whoosh" ([index] engine, or `dossier reindex --engine tantivy`)')
        # The live index, or the one a rebuild fills beside it (its directory is "index.new").
        self.table = LIVE_TABLE + ("_new" if self.path.name.endswith(".new") else "")
        self._write_engine: SqlEngine | None = None
        self._read_engine: SqlEngine | None = None
        self._meta: dict[str, int | str] | None = None

    @classmethod
    def holds_index(cls, path: Path) -> bool:
        # The rows live in the database; the directory holds only the marker that names this engine.
        return (Path(path) / MARKER).is_file()

    def _writes(self) -> SqlEngine:
        if self._write_engine is None:
            self._write_engine = create_engine(self.database.url, pool_pre_ping=True,
                                               connect_args={"application_name": "dossier index"})
        return self._write_engine

    def _reads(self) -> SqlEngine:
        if not self.database.read_url:
            return self._writes()
        if self._read_engine is None:
            self._read_engine = create_engine(self.database.read_url, pool_pre_ping=True,
                                              connect_args={"application_name": "dossier search"})
        return self._read_engine

    # --- the tables -------------------------------------------------------------------------

    def create(self) -> None:
        """The tables (the live ones only if missing: other nodes may use them already; a
        rebuild's afresh). With RUM where the server has it, else GIN."""
        table = self.table
        with _errors(self.path), self._writes().begin() as connection:
            if table != LIVE_TABLE:
                self._drop(connection, table)
            connection.execute(text(
                f"CREATE TABLE IF NOT EXISTS {table} (id text PRIMARY KEY, seq bigint NOT NULL, "
                "date timestamp NOT NULL, newest bigint NOT NULL, customers integer[] NOT NULL, "
                "tsv tsvector NOT NULL, stored text NOT NULL, keywords jsonb NOT NULL, "
                "truncated boolean NOT NULL DEFAULT false)"))
            connection.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {table}_seq"))
            connection.execute(text(f"CREATE TABLE IF NOT EXISTS {table}_meta (key text PRIMARY KEY, value "
                                    "bigint NOT NULL)"))
            connection.execute(text(f"CREATE INDEX IF NOT EXISTS {table}_newest ON {table} (newest)"))
            connection.execute(text(f"CREATE INDEX IF NOT EXISTS {table}_date ON {table} (date)"))
            has_index = connection.scalar(text("SELECT 1 FROM pg_indexes WHERE indexname = :name"),
                                          {"name": f"{table}_tsv"})
        if not has_index:
            kind = self._create_text_index()
            log.info("search index %s uses %s", table, kind.upper())
        self._forget_meta()

    def _create_text_index(self) -> str:
        table = self.table
        try:
            with self._writes().begin() as connection:
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS rum"))
                connection.execute(text(
                    f"CREATE INDEX {table}_tsv ON {table} USING rum (tsv rum_tsvector_addon_ops, newest) "
                    "WITH (attach = 'newest', to = 'tsv')"))
                self._set_meta(connection, "rum", 1)
            return "rum"
        except DBAPIError as exc:  # not installed, or not ours to install
            log.info("no RUM index (%s): the postgres engine uses GIN", _first_line(exc))
        with _errors(self.path), self._writes().begin() as connection:
            connection.execute(text(f"CREATE INDEX IF NOT EXISTS {table}_tsv ON {table} USING gin (tsv)"))
            self._set_meta(connection, "rum", 0)
        return "gin"

    def _set_meta(self, connection, key: str, value: int) -> None:
        connection.execute(text(f"INSERT INTO {self.table}_meta (key, value) VALUES (:key, :value) "
                                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"), {"key": key, "value": value})

    @staticmethod
    def _drop(connection, table: str) -> None:
        for name in (table, f"{table}_meta"):
            connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
        connection.execute(text(f"DROP SEQUENCE IF EXISTS {table}_seq"))

    def promote(self) -> None:
        """Put this freshly built index (``search_documents_new``) in place of the live one, in
        one transaction: readers see the old index until it commits, the new one after."""
        if self.table == LIVE_TABLE:
            return
        with _errors(self.path), self._writes().begin() as connection:
            self._drop(connection, LIVE_TABLE)
            for suffix in ("", "_meta", "_seq"):
                kind = "SEQUENCE" if suffix == "_seq" else "TABLE"
                connection.execute(text(f"ALTER {kind} {self.table}{suffix} RENAME TO {LIVE_TABLE}{suffix}"))
            for suffix in ("_pkey", "_meta_pkey", "_newest", "_date", "_tsv"):
                connection.execute(text(f"ALTER INDEX IF EXISTS {self.table}{suffix} RENAME TO {LIVE_TABLE}{suffix}"))
        self.table = LIVE_TABLE
        self._forget_meta()

    def discard(self) -> None:
        """Drop this index's tables (the archive moved to an engine that keeps its index in files)."""
        with _errors(self.path), self._writes().begin() as connection:
            self._drop(connection, self.table)

    def _meta_values(self) -> dict[str, int]:
        if self._meta is None:
            with _errors(self.path), self._reads().connect() as connection:
                self._meta = dict(connection.execute(text(f"SELECT key, value FROM {self.table}_meta")).all())
        return self._meta

    def _forget_meta(self) -> None:
        self._meta = None

    # --- reading ----------------------------------------------------------------------------

    def doc_count(self) -> int:
        try:
            with _errors(self.path), self._writes().connect() as connection:
                return connection.scalar(text(f"SELECT count(*) FROM {self.table}")) or 0
        except SearchIndexError as exc:
            if _is_missing_table(exc):
                return 0
            raise

    def truncated(self) -> int:
        """Documents whose end is not searchable (more text than one row holds)."""
        with _errors(self.path), self._writes().connect() as connection:
            return connection.scalar(text(f"SELECT count(*) FROM {self.table} WHERE truncated")) or 0

    def stored_documents(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        with _errors(self.path), self._writes().connect() as connection:
            for doc_id, customers in connection.execute(text(f"SELECT id, customers FROM {self.table} ORDER BY seq")):
                yield doc_id, tuple(customers)

    def open_writer(self, **options: object) -> PostgresWriter:
        with _errors(self.path):
            return PostgresWriter(self)

    def feed(self, on_committed: OnCommitted, *, new_only: bool = False) -> Feed:
        return WriterFeed(self, on_committed, new_only=new_only, commit_every=COMMIT_EVERY)

    def search(self, query: p.Plan, filter: p.Plan | None, *, scored: bool, limit: int, offset: int = 0) -> Page:
        try:
            return self._search(query, filter, scored=scored, limit=limit, offset=offset)
        except SearchIndexError as exc:
            if not _is_missing_table(exc):
                raise
        # Dropped (or never created on this database): an empty index answers "nothing found",
        # and search says how many stored messages it lacks, as with a deleted index directory.
        self.create()
        return self._search(query, filter, scored=scored, limit=limit, offset=offset)

    def _search(self, query: p.Plan, filter: p.Plan | None, *, scored: bool, limit: int, offset: int) -> Page:
        chunks = {key[7:]: value for key, value in self._meta_values().items() if key.startswith("chunks:")}
        compiler = Compiler(chunks)
        where = compiler.condition(query)
        if filter is not None:
            where = f"({where}) AND ({compiler.condition(filter)})"
        params = dict(compiler.params, limit=limit, offset=offset)
        table = self.table
        score = "0.0"
        order = "newest DESC"
        ranks = compiler.rank_queries(query) if scored else {}
        if ranks:
            # ts_rank weighs no single lexeme of a tsquery: a word's other forms (boost 0.5) are
            # ranked apart and count that much of the word itself.
            terms = []
            for i, (boost, rank) in enumerate(sorted(ranks.items(), reverse=True)):
                params[f"rank{i}"] = rank
                terms.append(f"{boost!r} * ts_rank('{_RANK_WEIGHTS}', tsv, CAST(:rank{i} AS tsquery))")
            score = " + ".join(terms)
            order = "score DESC, newest DESC"
        elif self._meta_values().get("rum"):
            params["ceiling"] = _NEWEST_CEILING
            order = "newest <=| CAST(:ceiling AS bigint), newest DESC"  # RUM hands them over newest first
        with _errors(self.path), self._reads().connect() as connection, connection.begin():
            # The planner prices a tsvector match like any filter and scans the whole table while it
            # holds a few thousand rows, reading every row's large tsvector: 30-50 ms a query on 2,000
            # messages, against 0.2 ms through the text index. Searches always take the indexes.
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            total = connection.scalar(text(f"SELECT count(*) FROM {table} WHERE {where}"), params) or 0
            rows = connection.execute(text(
                f"SELECT id, date, stored, {score} AS score FROM {table} WHERE {where} ORDER BY {order} "
                "LIMIT :limit OFFSET :offset"), params).all() if total > offset else []
        hits = tuple(StoredHit(id=doc_id, score=float(value) if ranks else 0.0, date=date, fields=json.loads(stored))
                     for doc_id, date, stored, value in rows)
        return Page(hits=hits, total=total)

    def close(self) -> None:
        for engine in (self._write_engine, self._read_engine):
            if engine is not None:
                engine.dispose()
        self._write_engine = self._read_engine = None
        self._meta = None
