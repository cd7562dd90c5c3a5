"""Reading new messages in worker processes (config/readers.py): the same rows, raw blobs and
index documents as reading them in the importing process; a worker that dies loses no message;
workers never outlive a killed import."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from config.archive import Archive
from config.pipeline import Importer
from config.readers import Readers, read_tasks
from config.settings import load_settings
from index import SearchRequest, search
from ingest import Message, MessageCopy, ParticipantRow, RawItem, hash_bytes
from linker import Link as LinkRow
from tests.config.dying_reader import DIE, read_or_die
from tests.conftest import Dossier
from tests.safety.crash import add_customers, dossier_argv, generated_messages
from tests.timing import scaled

COUNT = 150  # above MIN_FOR_WORKERS: the workers start


def _items(messages: list[bytes], folder: str = "INBOX") -> list[RawItem]:
    return [RawItem(data=raw, folder=folder, origin=f"{folder}/{n}") for n, raw in enumerate(messages)]


def _import(dossier: Dossier, items: list[RawItem], readers: Readers | None = None):
    archive = Archive(load_settings(dossier.data_dir))
    try:
        with Importer(archive, "test", readers=readers) as importer:
            importer.add(items)
        return importer.report
    finally:
        archive.close()


def _set_workers(dossier: Dossier, workers: int) -> None:
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("fsync = true", f"fsync = true\nworkers = {workers}"))


def _contents(data_dir: Path) -> dict:
    """What an import leaves: rows (without ids and times), raw blobs, index documents and hits."""
    archive = Archive(load_settings(data_dir))
    try:
        with archive.sessions() as session:
            sha_of = dict(session.execute(select(Message.id, Message.sha256)).all())
            messages = sorted((m.sha256, m.status, m.subject, m.from_email, m.date, m.quote_term, m.is_variant,
                               m.indexed_at is not None, tuple((a.filename, a.text_status) for a in m.attachments))
                              for m in session.scalars(select(Message)))
            participants = sorted((sha_of[p.message_id], p.role, p.email, p.domain)
                                  for p in session.scalars(select(ParticipantRow)))
            links = sorted((sha_of[link.message_id], link.customer_id, link.method)
                           for link in session.scalars(select(LinkRow)))
            copies = sorted((sha_of[c.message_id], c.folder, c.origin) for c in session.scalars(select(MessageCopy)))
        blobs = {sha: archive.raw.path_for(sha).read_bytes() for sha in sha_of.values()}
        documents = sorted(archive.index.stored_documents())
        hits = {q: [h.id for h in search(archive.index, SearchRequest(text=q, limit=200)).hits]
                for q in ("quotation", "报价单", "FOB Ningbo", "filler", "from:zhang@haitong.cn")}
    finally:
        archive.close()
    return {"messages": messages, "participants": participants, "links": links, "copies": copies,
            "blobs": blobs, "documents": documents, "hits": hits}


@pytest.mark.parametrize("engine", ["tantivy", "whoosh"])
def test_an_import_read_by_workers_equals_one_read_in_process(tmp_path: Path, engine: str):
    messages = generated_messages(COUNT)
    items = _items(messages) + _items(messages[:20], "Archive")  # copies: duplicates across batches
    contents = []
    for workers in (2, 0):
        dossier = Dossier(tmp_path / f"workers{workers}")
        dossier.run("init", "--engine", engine, "--own-domain", "northwind-trading.com")
        add_customers(dossier)
        _set_workers(dossier, workers)
        report = _import(dossier, items)
        assert (report.stored, report.duplicates, report.failed) == (COUNT, 20, 0)
        contents.append(_contents(dossier.data_dir))
    pooled, in_process = contents
    assert pooled["links"] and all(pooled["hits"].values())  # something to compare
    assert pooled == in_process


def test_an_import_with_the_stdlib_parser_leaves_the_archive_mail_parser_does(tmp_path: Path):
    # [import] parser = "stdlib": the same rows, blobs, index documents and hits, in less time.
    items = _items(generated_messages(COUNT))
    contents = []
    for parser in ("stdlib", "mail-parser"):
        dossier = Dossier(tmp_path / parser)
        dossier.run("init", "--own-domain", "northwind-trading.com")
        add_customers(dossier)
        config = dossier.data_dir / "dossier.toml"
        config.write_text(config.read_text().replace("fsync = true", f'fsync = true\nparser = "{parser}"'))
        assert load_settings(dossier.data_dir).parser == parser
        report = _import(dossier, items)
        assert (report.stored, report.failed) == (COUNT, 0)
        contents.append(_contents(dossier.data_dir))
    stdlib, mail_parser = contents
    assert stdlib["links"] and all(stdlib["hits"].values())
    assert stdlib == mail_parser


def test_workers_read_exactly_what_the_importing_process_reads():
    raws = generated_messages(80) + [b"not a message at all\x00\xff"]
    tasks = [(hash_bytes(raw), raw, f"m{n}") for n, raw in enumerate(raws)]
    from ingest import Encoder

    encoder = Encoder(6, None)
    with Readers(2, encoder=encoder, analyse=True) as readers:
        pooled = readers.result(readers.submit(tasks))
    alone = read_tasks(tasks, encoder, True)
    assert list(pooled) == [sha for sha, _, _ in tasks]  # in order
    for (sha, _, _), mine in zip(tasks, alone, strict=True):
        theirs = pooled[sha]
        assert theirs == mine  # parsed, reading, blob, document (its tokens compared below)
        if mine.draft is not None:
            assert theirs.draft.analysed == mine.draft.analysed and mine.draft.analysed.fields


def test_a_worker_that_dies_on_a_message_keeps_it_as_failed_and_loses_no_other(dossier: Dossier):
    messages = generated_messages(COUNT)
    doomed = messages[70].replace(b"\nSubject:", b"\n" + DIE + b"\nSubject:", 1)
    messages[70] = doomed
    report = _import(dossier, _items(messages), readers=Readers(2, read=read_or_die))
    assert (report.stored, report.failed) == (COUNT - 1, 1)
    assert report.failures == [("INBOX/70", report.failures[0][1])]
    assert "process reading it died" in report.failures[0][1]
    archive = Archive(load_settings(dossier.data_dir))
    try:
        assert archive.raw.get(hash_bytes(doomed)) == doomed  # kept byte for byte
        with archive.sessions() as session:
            failed = session.scalars(select(Message).where(Message.status == "failed")).one()
            assert failed.sha256 == hash_bytes(doomed)
        assert archive.index.doc_count() == COUNT - 1
    finally:
        archive.close()
    assert dossier.json("status")["failed"] == 1


def test_a_worker_death_while_later_batches_are_read_ahead_loses_none_of_them(dossier: Dossier):
    messages = generated_messages(3 * 100)
    messages[30] = messages[30].replace(b"\nSubject:", b"\n" + DIE + b"\nSubject:", 1)
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 100"))  # 3 batches in flight
    report = _import(dossier, _items(messages), readers=Readers(2, read=read_or_die))
    assert (report.stored, report.failed, report.seen) == (299, 1, 300)
    assert [origin for origin, _ in report.failures] == ["INBOX/30"]
    status = dossier.json("status")
    assert (status["messages"], status["failed"]) == (299, 1)  # messages: those stored whole


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_workers_leave_when_the_import_is_killed(dossier: Dossier, tmp_path: Path):
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n, raw in enumerate(generated_messages(3000)):
        (maildir / "cur" / f"{n}.host:2,S").write_bytes(raw)
    _set_workers(dossier, 2)
    proc = subprocess.Popen(dossier_argv(dossier, "import", str(maildir)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + scaled(60)
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            workers = [pid for pid in _children(proc.pid) if b"spawn_main" in
                       (Path("/proc") / str(pid) / "cmdline").read_bytes()]
        assert len(workers) >= 2, "the import started no workers"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + scaled(10)
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)
    dossier.run("import", maildir)  # and the archive takes the rest in (no worker holds its lock)
    assert dossier.json("status")["messages"] == 3000
