"""`dossier check`: verify the whole archive (raw store, rows, index, links) and repair what the raw store allows.

Every finding is one line; the report groups them by kind (one line per kind, with a count).
A repair only ever re-derives data from the raw bytes (re-parse, re-link, re-index) or removes
what is derived and unreferenced (a stale index document, a partial blob in ``raw/tmp``, a row
pointing at nothing); it never deletes a raw message.
"""

from __future__ import annotations

import errno
import logging
import shutil
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from index import SearchIndexError
from ingest import AttachmentRow, Message, MessageCopy, ParticipantRow, RawItem, RawStoreError
from linker import Customer, Link, LinkOverride, relink

from .archive import Archive, Progress, no_progress

log = logging.getLogger(__name__)


@dataclass
class Finding:
    """One problem: its kind, what it concerns (a short message id, a path), and the detail."""

    kind: str
    subject: str
    detail: str
    repaired: bool = False
    repairable: bool = True

    def line(self) -> str:
        state = "repaired" if self.repaired else ("" if self.repairable else "cannot repair")
        return f"{self.kind}: {self.subject}: {self.detail}" + (f" [{state}]" if state else "")

    def as_dict(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail,
                "repaired": self.repaired, "repairable": self.repairable}


@dataclass(frozen=True)
class FindingGroup:
    """The findings of one kind: a full disk or a killed reindex leaves thousands alike."""

    kind: str
    findings: tuple[Finding, ...]

    def line(self) -> str:
        """One line for the kind: the finding itself when alone, else the count and the first one."""
        first = self.findings[0]
        if len(self.findings) == 1:
            return first.line()
        repaired = sum(f.repaired for f in self.findings)
        stuck = sum(not f.repairable and not f.repaired for f in self.findings)
        states = [f"{repaired} repaired"] if repaired else []
        states += [f"{stuck} cannot repair"] if stuck else []
        return (f"{self.kind}: {len(self.findings)} findings, e.g. {first.subject}: {first.detail}"
                + (f" [{', '.join(states)}]" if states else ""))


@dataclass
class CheckReport:
    messages: int = 0
    blobs: int = 0
    index_documents: int = 0
    links: int = 0
    #: Parse problems, reported but not findings (nothing repairs them; the raw bytes are kept):
    #: messages that failed to parse, and those read partially (their headers and text indexed).
    failed_to_parse: int = 0
    read_partially: int = 0
    findings: list[Finding] = field(default_factory=list)
    bad_blobs: set[str] = field(default_factory=set)  # missing or corrupt: nothing can be re-derived

    @property
    def problems(self) -> list[Finding]:
        """Findings that remain (not repaired)."""
        return [f for f in self.findings if not f.repaired]

    @property
    def is_clean(self) -> bool:
        return not self.problems

    def groups(self) -> list[FindingGroup]:
        """The findings by kind, in the order the kinds were first found."""
        kinds: dict[str, list[Finding]] = {}
        for finding in self.findings:
            kinds.setdefault(finding.kind, []).append(finding)
        return [FindingGroup(kind, tuple(found)) for kind, found in kinds.items()]

    def summary(self) -> dict:
        return {
            "clean": self.is_clean,
            "messages": self.messages,
            "blobs": self.blobs,
            "index_documents": self.index_documents,
            "links": self.links,
            "failed_to_parse": self.failed_to_parse,
            "read_partially": self.read_partially,
            "problems": len(self.problems),
            "repaired": sum(f.repaired for f in self.findings),
            "kinds": {group.kind: len(group.findings) for group in self.groups()},
            "findings": [f.as_dict() for f in self.findings],
        }


def check_archive(archive: Archive, *, repair: bool = False, progress: Progress = no_progress) -> CheckReport:
    """Verify the archive; with ``repair``, fix what can be fixed from the raw store.

    The caller holds the write lock (a repair writes; a check must not see an import half done).
    Raises SearchIndexError / RawStoreError only when the data directory itself cannot be used.
    """
    report = _run_checks(archive, repair, progress)
    if repair:
        # Verify the repairs: a finding counts as repaired only when a fresh check no longer has it.
        after = _run_checks(archive, False, no_progress)
        remaining = {(f.kind, f.subject) for f in after.findings}
        for finding in report.findings:
            finding.repaired = (finding.kind, finding.subject) not in remaining
        seen = {(f.kind, f.subject) for f in report.findings}
        report.findings += [f for f in after.findings if (f.kind, f.subject) not in seen]
    log.info("check: %d messages, %d problems, %d repaired",
             report.messages, len(report.problems), sum(f.repaired for f in report.findings))
    return report


def _run_checks(archive: Archive, repair: bool, progress: Progress) -> CheckReport:
    report = CheckReport()
    _check_raw_store(archive, report, repair, progress)
    _check_rows(archive, report, repair)
    _check_links(archive, report, repair)
    _check_index(archive, report, repair)
    return report


def _short(sha: str) -> str:
    return sha[:12]


def _check_raw_store(archive: Archive, report: CheckReport, repair: bool, progress: Progress) -> None:
    """Every row's blob exists and hashes right; every blob has a row; no partial blob is left."""
    with archive.sessions() as session:
        rows = session.execute(select(Message.sha256, Message.status, Message.error).order_by(Message.id)).all()
    report.messages = len(rows)
    report.failed_to_parse = sum(status != "ok" for _, status, _ in rows)
    report.read_partially = sum(status == "ok" and error is not None for _, status, error in rows)
    known = set()
    for sha, _status, _ in progress(rows):
        known.add(sha)
        try:
            archive.raw.get(sha)  # reads, decompresses and verifies the hash
        except RawStoreError as exc:
            missing = not archive.raw.contains(sha)
            report.bad_blobs.add(sha)
            report.findings.append(Finding(
                "missing-blob" if missing else "corrupt-blob", _short(sha),
                f"{exc}", repairable=False,
            ))
    orphans = [sha for sha in archive.raw.iter_hashes() if sha not in known]
    report.blobs = len(known) + len(orphans)
    for path in archive.raw.temp_files():
        finding = Finding("partial-blob", str(path), "left by an interrupted write; no row refers to it")
        if repair:
            path.unlink(missing_ok=True)
            finding.repaired = True
        report.findings.append(finding)
    if not orphans:
        return
    findings = [Finding("orphan-blob", _short(sha), "a stored message with no database row") for sha in orphans]
    report.findings.extend(findings)
    if repair:
        # A blob is a message someone imported; the row was lost with the crash of its batch.
        # Import it again (account "recovered") rather than delete mail.
        from .pipeline import Importer

        with Importer(archive, "recovered") as importer:
            for sha, finding in zip(orphans, findings, strict=True):
                try:
                    data = archive.raw.get(sha)
                except RawStoreError as exc:
                    finding.detail += f"; unreadable: {exc}"
                    finding.repairable = False
                    continue
                importer.add_batch([RawItem(data=data, origin=f"raw store {_short(sha)}", folder="orphan-blobs")])
                finding.repaired = True


def _check_rows(archive: Archive, report: CheckReport, repair: bool) -> None:
    """No row of a dependent table points at a missing message or customer; every message has a copy."""
    with archive.sessions.begin() as session:
        message_ids = set(session.scalars(select(Message.id)))
        customer_ids = set(session.scalars(select(Customer.id)))
        for model, label in ((MessageCopy, "folder copy"), (ParticipantRow, "participant"),
                             (AttachmentRow, "attachment"), (Link, "link"), (LinkOverride, "link correction")):
            dangling = [rid for rid, mid in session.execute(select(model.id, model.message_id))
                        if mid not in message_ids]
            if hasattr(model, "customer_id"):
                dangling += [rid for rid, cid in session.execute(select(model.id, model.customer_id))
                             if cid not in customer_ids]
            for rid in dangling:
                report.findings.append(Finding("orphan-row", f"{model.__tablename__} {rid}",
                                               f"a {label} of a message or customer that does not exist",
                                               repaired=repair))
            if repair and dangling:
                for start in range(0, len(dangling), 500):
                    session.execute(delete(model).where(model.id.in_(dangling[start:start + 500])))
        with_copy = set(session.scalars(select(MessageCopy.message_id).distinct()))
        for sha in session.scalars(select(Message.sha256).where(Message.id.not_in(with_copy)) if with_copy
                                   else select(Message.sha256)):
            # Harmless for search, but the place it was found is unknown.
            report.findings.append(Finding("no-copy", _short(sha), "no account/folder records where it was found",
                                           repairable=False))


def _link_rows(session: Session) -> dict[int, set[tuple]]:
    rows: dict[int, set[tuple]] = defaultdict(set)
    for mid, cid, role, method, matched in session.execute(
        select(Link.message_id, Link.customer_id, Link.role, Link.method, Link.matched)
    ):
        rows[mid].add((cid, role, method, matched))
    return rows


def _check_links(archive: Archive, report: CheckReport, repair: bool) -> None:
    """The stored links equal what a full relink computes now (computed in a transaction that is rolled back)."""
    with archive.sessions() as session:
        stored = _link_rows(session)
        internal = dict(session.execute(select(Message.id, Message.is_internal).where(Message.status == "ok")).all())
        relink(session, archive.directory(session))
        fresh = _link_rows(session)
        fresh_internal = dict(
            session.execute(select(Message.id, Message.is_internal).where(Message.status == "ok")).all()
        )
        session.rollback()  # a check writes nothing
        shas = dict(session.execute(select(Message.id, Message.sha256)).all())
    report.links = sum(len(v) for v in stored.values())
    differ = sorted(mid for mid in set(stored) | set(fresh) | set(internal)
                    if stored.get(mid, set()) != fresh.get(mid, set())
                    or bool(internal.get(mid)) != bool(fresh_internal.get(mid)))
    findings = []
    for mid in differ:
        had = sorted({c for c, *_ in stored.get(mid, ())})
        want = sorted({c for c, *_ in fresh.get(mid, ())})
        detail = (f"links to customers {had or 'none'} but the rules give {want or 'none'}" if had != want
                  else "link reasons or the internal flag differ from what the rules give")
        findings.append(Finding("links-differ", _short(shas.get(mid, "?")), detail))
    report.findings.extend(findings)
    if repair and differ:
        from .pipeline import relink_all

        relink_all(archive, differ)
        for finding in findings:
            finding.repaired = True


def _check_index(archive: Archive, report: CheckReport, repair: bool) -> None:
    """Every stored ok message has exactly one index document with its customers; no document lacks a row."""
    from ingest import set_indexed_at

    from .pipeline import index_pending, reindex

    leftover = archive.index.path.with_name(archive.index.path.name + ".new")
    if leftover.exists():  # the caller holds the write lock: no rebuild is filling it now
        finding = Finding("partial-index", str(leftover), "left by an interrupted reindex; nothing uses it")
        if repair:
            shutil.rmtree(leftover, ignore_errors=True)
            finding.repaired = True
        report.findings.append(finding)
    try:
        documents = list(archive.index.stored_documents())
    except SearchIndexError as exc:
        if isinstance(exc.__cause__, OSError) and exc.__cause__.errno == errno.EROFS:
            raise  # the machine's, not the archive's: a read-only data directory (on SQLite the lock says so first)
        finding = Finding("index-unreadable", str(archive.index.path), str(exc))
        report.findings.append(finding)
        if repair:
            reindex(archive)
            finding.repaired = True
        return
    report.index_documents = len(documents)
    indexed: dict[str, list[tuple[int, ...]]] = defaultdict(list)
    for doc_id, customers in documents:
        indexed[doc_id].append(customers)
    with archive.sessions() as session:
        rows = session.execute(select(Message.id, Message.sha256, Message.status, Message.indexed_at)).all()
        links: dict[int, set[int]] = defaultdict(set)
        for mid, cid in session.execute(select(Link.message_id, Link.customer_id)):
            links[mid].add(cid)
    ok = {sha: (mid, indexed_at) for mid, sha, status, indexed_at in rows if status == "ok"}
    failed_shas = {sha for _, sha, status, _ in rows if status != "ok"}
    to_index: list[int] = []
    findings: list[Finding] = []
    for sha, (mid, indexed_at) in ok.items():
        if sha in report.bad_blobs:
            continue  # reported as missing-blob / corrupt-blob; re-indexing needs the bytes
        docs = indexed.get(sha)
        if not docs:
            what = "waiting to be indexed" if indexed_at is None else "recorded as indexed but not in the index"
            findings.append(Finding("not-indexed", _short(sha), what))
        elif len(docs) > 1:
            findings.append(Finding("duplicate-document", _short(sha), f"{len(docs)} index documents"))
        elif set(docs[0]) != links.get(mid, set()):
            findings.append(Finding("stale-document", _short(sha),
                                    f"indexed with customers {sorted(docs[0]) or 'none'}, "
                                    f"linked to {sorted(links.get(mid, ())) or 'none'}"))
        else:
            continue
        to_index.append(mid)
    extra = [doc_id for doc_id in indexed if doc_id not in ok]
    for doc_id in extra:
        why = "its message failed to parse" if doc_id in failed_shas else "no database row"
        findings.append(Finding("orphan-document", _short(doc_id), f"an index document with {why}"))
    report.findings.extend(findings)
    if not repair or not findings:
        return
    duplicates = [sha for sha, docs in indexed.items() if len(docs) > 1 and sha in ok]
    if extra or duplicates:
        # A delete by id removes every copy (a replace may remove only the first one found).
        with archive.index.writer() as writer:
            for doc_id in extra + duplicates:
                writer.delete(doc_id)
    if to_index:
        with archive.sessions.begin() as session:
            set_indexed_at(session, to_index, None)
        index_pending(archive)  # replaces each document (delete by id, then add)
    for finding in findings:
        finding.repaired = True
